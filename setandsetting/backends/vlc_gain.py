"""Fine gain for libVLC: a level as the integer volume and an equalizer preamp trim.

libVLC's volume is a whole percent on the cubic scale (60·log10(1 + 1/v) dB a step: 1.2 dB
at 21 %, 6 dB from 1 to 2 %), so a slow fade by volume alone is a staircase. The 10-band
equalizer's preamp is a float gain in dB, changed on the fly (a callback on the audio
output's variable, no filter restart), and with every band at 0 dB the equalizer is
nothing but that gain: it passes a quarter of its input (EQZ_IN_FACTOR) times
10^(preamp/20), so a preamp of 20·log10(4) dB is unity. libVLC clamps the preamp to
-20..+20 dB, and libVLC clips samples above full scale, so the trim only attenuates:
0 to -32.04 dB.

The chain, for a level L (amplitude L³, 60·log10(L) dB):

- from -32.04 dB up, the volume stays at 100 % and the trim alone follows the level,
  in TRIM_STEP_DB steps, rounded down, so what plays is never louder than asked;
- below, the trim rests at its floor and the volume steps down from 100 %: at 74 % (the
  level at -40 dB) one volume step is 0.35 dB, and steps grow past 0.5 dB only below
  -49 dB.

So above -40 dB no step is larger than 0.35 dB. The two parts sound at different
moments: the volume is the sound server's (heard within milliseconds), the trim is
applied as libVLC decodes (heard one output buffer later, 0.4 s measured). They only
ever move in the same direction, so what is heard between them lies between the old and
the new level, never above either, nor the cap.
"""

from __future__ import annotations

import math

UNITY_PREAMP_DB = 20.0 * math.log10(4.0)  # the flat equalizer passes 1/4 of its input
PREAMP_MIN_DB = -20.0  # libVLC's clamp
TRIM_FLOOR_DB = PREAMP_MIN_DB - UNITY_PREAMP_DB  # -32.04 dB: the quietest trim
TRIM_STEP_DB = 0.1  # finer than anyone hears, coarse enough that a steady level rests
_FLOOR_FACTOR = 10.0 ** (TRIM_FLOOR_DB / 60.0)  # the floor trim as a level factor


def fine_gain(level: float) -> tuple[int, float]:
    """(volume 0..100, equalizer preamp dB) that play `level` (0..1) at or just below it."""
    level = min(1.0, level)
    if level <= 0.0:
        return 0, PREAMP_MIN_DB
    db = 60.0 * math.log10(level)
    if db >= TRIM_FLOOR_DB:
        steps = math.floor(db / TRIM_STEP_DB + 1e-9)
        return 100, UNITY_PREAMP_DB + max(steps * TRIM_STEP_DB, TRIM_FLOOR_DB)
    return math.floor(100.0 * level / _FLOOR_FACTOR + 1e-9), PREAMP_MIN_DB
