"""provergym: a learning environment for machine theorem proving (Metamath and Coq).

Importing the package does no work beyond registering the Gymnasium ids
``provergym/Metamath-v0`` and ``provergym/Coq-v0`` (see :mod:`provergym._register`).
"""

from provergym import _register
from provergym.api import (
    Backend,
    Goal,
    Hypothesis,
    InitError,
    Progress,
    ProofState,
    Proved,
    ProverCrash,
    ProverError,
    ProverTimeout,
    Rejected,
    StepResult,
)

__all__ = [
    "Backend", "Goal", "Hypothesis", "InitError", "Progress", "ProofState", "Proved",
    "ProverCrash", "ProverError", "ProverTimeout", "Rejected", "StepResult",
]
__version__ = "0.1.0"

_register.install()
