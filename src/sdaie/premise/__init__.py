"""Does the extractor learn camera traces from real photographs? (config section ``premise``)

The pretext network is trained on camera photos to predict their EXIF tags. Whether it learned camera
traces is measured on the validation photos of cameras it saw in training, next to references that
learned nothing from EXIF, and at several sizes of the training set (a learning curve):

    plan       names of the extractors and training fractions the pipeline runs
    data       which photos train and which evaluate; features and labels aligned to them
    probes     linear probes (logistic regression for make/model, ridge for ranking tags), their
               regularisation chosen by grouped cross-validation on the training photos only
    measure    predictions of every method, accuracies with bootstrap confidence intervals, paired
               differences, the learning-curve table
    figures    the learning-curve plot
"""
