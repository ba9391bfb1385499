# sdaie: self-supervised AI-generated image detection from camera metadata.
# This file only validates the config, includes the rule files and names the final targets.
from snakemake.utils import min_version, validate

min_version("9.0")


# config.yaml is the default; a --configfile replaces it (merging would keep the demo datasets).
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


rule all:
    input:
        final_targets(),
    default_target: True


include: "rules/demo.smk"
include: "rules/exif.smk"
include: "rules/tags.smk"
include: "rules/pretext.smk"
include: "rules/detect.smk"
include: "rules/evaluate.smk"
include: "rules/premise.smk"
