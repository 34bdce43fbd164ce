"""Secret rotation: generated passwords and tokens, dual-key API keys, PostgreSQL roles.

    config      the ``rotate:`` section (strategies, generators, targets, mirrors)
    generators  password:LEN[:CLASSES], token:BYTES, command:PROGRAM
    model       a rotation's record and the stage machine (plan → … → retire)
    postgres    PostgreSQL roles: SCRAM verifiers, VALID UNTIL, ending sessions
    stores      the atomic, fenced publish for each kind of store
    engine      Rotator: plan, run, resume, abort, retire, verify, status, promote
    runbook     Markdown runbooks per secret class
"""

from vaultline.errors import RotationError
from vaultline.rotate.engine import KeyStatus, Plan, Rotator, Verified
from vaultline.rotate.model import Rotation, Stage, State, Step

__all__ = ["KeyStatus", "Plan", "Rotation", "RotationError", "Rotator", "Stage", "State", "Step",
           "Verified"]
