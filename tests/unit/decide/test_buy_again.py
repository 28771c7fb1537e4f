"""The buy-again list: each purchase counts less for every order the person placed since."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from rapport.decide import learn


def model(n: int = 4) -> learn.Model:
    return learn.train(sp.csr_matrix((1, n), dtype=np.float32), [f"i{k}" for k in range(n)])


def test_repeat_score_decays_with_the_orders_since():
    assert learn.repeat_score([0], 0.85) == pytest.approx(1.0)
    assert learn.repeat_score([0, 1, 2], 0.5) == pytest.approx(1.75)
    assert learn.repeat_score([], 0.85) == 0.0
    assert learn.repeat_score([3, 4], 1.0) == pytest.approx(2.0)  # no decay: plain frequency


def test_a_staple_of_their_last_order_outranks_one_they_bought_twice_long_ago():
    scores = learn.buy_again(model(), [learn.Own(0, (0,)), learn.Own(1, (7, 9)), learn.Own(2, (0, 1, 2))])
    assert scores[2] == pytest.approx(1.0)  # the strongest is 1
    assert scores[2] > scores[0] > scores[1] > 0
    assert scores[3] == 0.0  # never bought


def test_due_scales_and_nothing_bought_scores_nothing():
    scores = learn.buy_again(model(), [learn.Own(0, (0,), due=0.5), learn.Own(1, (0,))])
    assert scores[0] == pytest.approx(0.5) and scores[1] == pytest.approx(1.0)
    assert not learn.buy_again(model(), []).any()


def test_a_model_stored_before_the_decay_existed_loads_with_the_default():
    params = {"l2": 500.0, "neighbours": 200, "min_support": 3, "again_weight": 10.0, "half_life": 10.0}
    loaded = learn.Params(**{k: v for k, v in params.items() if k in learn.Params.__dataclass_fields__})
    assert loaded.again_decay == learn.AGAIN_DECAY
