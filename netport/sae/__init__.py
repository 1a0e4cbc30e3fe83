"""netport.sae: a stacked-autoencoder trainer to import instead of porting one.

    from netport.sae import StackedAutoencoder, fit
    model = StackedAutoencoder([784, 1000, 500, 250, 2])          # tied sigmoid layers, as the seed
    history = fit(model, x_train, epochs_pre=10, epochs_fine=10)  # greedy pretraining, fine-tuning
    codes = model.transform(x_test)

PyTorch; Chainer-compatible weights (``export_chainer_npz`` writes what the seed program's
``StackedAutoEncoder`` loads with ``serializers.load_npz``).
"""

from netport.sae.io import (export_chainer_npz, import_chainer_npz, load_model, load_state_dict, save_model,
                            save_state_dict)
from netport.sae.model import ACTIVATIONS, AutoencoderLayer, SAEWarning, StackedAutoencoder
from netport.sae.training import EpochRecord, History, SAEError, SAETrainer, TrainConfig, fit

__all__ = ["ACTIVATIONS", "AutoencoderLayer", "EpochRecord", "History", "SAEError", "SAETrainer", "SAEWarning",
           "StackedAutoencoder", "TrainConfig", "export_chainer_npz", "fit", "import_chainer_npz", "load_model",
           "load_state_dict", "save_model", "save_state_dict"]
