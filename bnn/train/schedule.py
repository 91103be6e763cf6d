"""Learning-rate schedules: exponential decay (Lu et al. 2017) and Kaldi nnet1's newbob."""
from dataclasses import dataclass, field
from typing import List, Optional


def exponential_lr(lr0: float, decay: float, epoch: int) -> float:
    """``lr_e = lr0 * decay**e`` for 0-based epoch ``e`` (Lu et al. 2017, Sec. 3: "SGD with exponential learning rate decay")."""
    return lr0 * decay ** epoch


@dataclass
class Newbob:
    """Kaldi nnet1's ``steps/nnet/train_scheduler.sh`` rule on cross-validation loss.

    After each epoch: an epoch whose CV loss is not better than the best so far is *rejected*
    (the caller restores the best model) and halving starts.  Halving (``lr *= halving_factor``)
    also starts once the relative improvement drops below ``start_halving_impr``; training stops
    when, while halving, the relative improvement is below ``end_halving_impr``.
    """

    lr: float
    halving_factor: float = 0.5
    start_halving_impr: float = 0.01
    end_halving_impr: float = 0.001
    min_epochs: int = 0
    halving: bool = False
    best_loss: Optional[float] = None
    history: List[float] = field(default_factory=list)

    def step(self, epoch: int, cv_loss: float):
        """Update with this epoch's CV loss; return ``(accept, stop)``."""
        self.history.append(cv_loss)
        if self.best_loss is None:
            self.best_loss = cv_loss
            return True, False
        prev = self.best_loss
        accept = cv_loss < prev
        impr = (prev - cv_loss) / abs(prev) if prev else 0.0
        if accept:
            self.best_loss = cv_loss
        stop = False
        if self.halving and impr < self.end_halving_impr and epoch + 1 >= self.min_epochs:
            stop = True
        if impr < self.start_halving_impr:
            self.halving = True
        if self.halving:
            self.lr *= self.halving_factor
        return accept, stop

    def state_dict(self) -> dict:
        return {"lr": self.lr, "halving": self.halving,
                "best_loss": self.best_loss, "history": list(self.history)}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        self.halving = state["halving"]
        self.best_loss = state["best_loss"]
        self.history = list(state["history"])
