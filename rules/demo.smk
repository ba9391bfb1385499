# The built-in demo data: simulated camera photographs and two generator stand-ins.


localrules:
    demo_data,


checkpoint demo_data:
    output:
        directory(config["demo"]["output"]),
    params:
        demo=config["demo"],
    threads: workflow.cores
    log:
        f"{LOGS}/demo_data.log",
    conda:
        "../envs/data.yaml"
    script:
        "../workflow_scripts/demo_data.py"
