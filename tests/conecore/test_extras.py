"""What a user without an optional extra meets: a message naming the extra."""

from __future__ import annotations


def test_a_missing_torch_names_the_extra(tmp_path):
    """`cc.ConeLayer` without torch says which extra to install (the geometry still works)."""
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "import conecore as cc\n"
            "print(cc.Cone.from_inequalities([[1, -2], [-3, 1]]).summary())\n"
            "try:\n    cc.ConeLayer\nexcept ImportError as e:\n    print('ERR', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120).stdout
    assert "2 rays" in out
    assert 'ERR conecore.ConeLayer needs torch' in out and 'conecore[torch]' in out
