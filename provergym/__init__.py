"""provergym: a learning environment for machine theorem proving (Metamath and Coq)."""

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
