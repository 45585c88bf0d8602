"""The library's seams: `vae.train` is the training function and `vae.trainer` its module (no class swap on the
package), and vae.evaluation and vae.trainer do not import each other."""
import subprocess
import sys
import types

from conftest import ROOT


def test_vae_train_is_the_function_and_its_module_is_vae_trainer():
    import vae
    import vae.trainer as trainer

    assert isinstance(trainer, types.ModuleType) and callable(vae.train) and vae.train is trainer.train
    assert type(vae) is types.ModuleType  # a plain module: nothing swaps the package's class


def test_evaluation_and_training_do_not_import_each_other():
    code = ("import sys, importlib; m = importlib.import_module(sys.argv[1]); "
            "print(sorted(n for n in sys.modules if n in ('vae.trainer', 'vae.evaluation')))")
    for module, other in (("vae.evaluation", "vae.trainer"), ("vae.trainer", "vae.evaluation")):
        out = subprocess.run([sys.executable, "-c", code, module], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
        assert other not in out, (module, out)
