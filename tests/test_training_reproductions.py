"""The training reproductions with tiny settings: their JSON keys, tables and bad options."""

import json

import pytest

from vgwidgets.experiments import REPRODUCTIONS

TINY = {"he-init": 100, "nielsen-training": 500, "glorot-saturation": 100}


@pytest.fixture(scope="module", params=sorted(TINY))
def run(request):
    name = request.param
    return name, REPRODUCTIONS[name].run(seeds=1, steps=TINY[name])


def test_json_keys_and_table(run):
    name, result = run
    assert set(result) == set(REPRODUCTIONS[name].json_keys)
    assert json.loads(json.dumps(result)) == result  # JSON-able as it is
    assert result["seeds"] == [0] and result["step"][-1] == TINY[name]
    table = REPRODUCTIONS[name].format(result)
    assert result["reference"].split(",")[0].split()[0] in table or "Here:" in table


@pytest.mark.parametrize("name", sorted(TINY))
def test_bad_options_are_named_before_training(name):
    with pytest.raises(ValueError, match="seeds must be an integer"):
        REPRODUCTIONS[name].run(seeds=0)
    with pytest.raises(ValueError, match="steps must be a multiple of"):
        REPRODUCTIONS[name].run(seeds=1, steps=TINY[name] + 1)
