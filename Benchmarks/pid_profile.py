"""The user profile the service benchmarks give the simulated printer (fake_printer.py).

The simulated printer answers Epson's process-ID request (GS ( H fn 48), as TM models with that function do. A user
profile says so (Docs/profile-format.md, processIDResponse), so that each job counts as done only once the printer
reports it printed, and the service may pipeline jobs (decision 0022)."""
import json
import os

NAME = "TM-T20III-pid"


def write(home):
    """Writes HOME/profiles/TM-T20III-pid.json: TM-T20III with processIDResponse on. Returns its name."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(os.path.dirname(here), "Hardware", "profiles", "TM-T20III.json")) as source:
        profile = json.load(source)
    profile["id"] = NAME
    profile["features"]["processIDResponse"] = True
    os.makedirs(os.path.join(home, "profiles"), exist_ok=True)
    with open(os.path.join(home, "profiles", NAME + ".json"), "w") as target:
        json.dump(profile, target)
    return NAME
