"""pytest setup for every run in this repository, notebooks included.

``tests._nbval_state`` adds, after the last cell of each lesson that nbval runs, a check that the
learner's explorer shows the state its text describes (notebooks/CONTRIBUTING.md).
"""

pytest_plugins = ["tests._nbval_state"]
