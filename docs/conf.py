# Sphinx configuration of the medimaging.orthanc documentation site (docs/build.sh; `make docs`).
# Started from `antsibull-docs sphinx-init`; no intersphinx: the build runs offline and every warning is an error.
project = 'medimaging.orthanc'
copyright = 'medimaging.orthanc contributors'
title = 'medimaging.orthanc'
html_short_title = 'medimaging.orthanc'

extensions = ['sphinx_antsibull_ext']
pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_ansible_theme'
html_show_sphinx = False
display_version = False
html_use_smartypants = True
html_use_modindex = False
html_use_index = False
html_copy_source = False
default_role = 'any'
