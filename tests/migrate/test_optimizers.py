"""Per-iteration optimizer calls (CH042) and the gradient norm (CH043)."""

from __future__ import annotations

from netport.migrate import Severity, migrate_source

TRUNCATED_BPTT = """import chainer
optimizer.setup(model)
for i in range(n):
    loss.backward()
    if (i + 1) % bprop_len == 0:
        optimizer.clip_grads(grad_clip)
        optimizer.update()
"""


def test_a_clip_right_before_the_only_update_becomes_a_hook_even_under_a_condition():
    result = migrate_source(TRUNCATED_BPTT)
    assert "optimizer.setup(model)\noptimizer.add_hook(chainer.optimizer_hooks.GradientClipping(grad_clip))\n" \
        in result.migrated
    assert "clip_grads" not in result.migrated and not result.needs_manual_work


def test_a_conditional_clip_with_another_update_elsewhere_stays_for_a_human():
    result = migrate_source(TRUNCATED_BPTT + "optimizer.update()\n")
    assert [f.rule for f in result.findings if f.severity is Severity.ERROR] == ["CH042"]
