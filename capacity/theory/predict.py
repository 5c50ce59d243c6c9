"""The theory's capacity for each simulated memory model, with a label saying which theory it is.

One entry point, :func:`predicted_p_c`, maps a model name of the simulator
(docs/simulator.md) to the theory that predicts its capacity: the decoupled
finite-size capacity (docs/theory.md §2, eq. (T3)), the Hebbian capacity (§5) or
the two-layer capacity (§6).  The value is for comparison only; it is never fed
back into a simulation.
"""
from dataclasses import dataclass

from ..results import Result

__all__ = ["PREDICT_MODELS", "Prediction", "predicted_p_c"]

#: Model names :func:`predicted_p_c` accepts (those of the simulator).
PREDICT_MODELS = ("decoupled", "coupled", "hebbian", "two-layer-frozen", "two-layer")


@dataclass(frozen=True)
class Prediction(Result):
    """A theory value and what it is: ``value`` (NaN when the theory does not apply) and ``label``.

    The label names the theory and its section of docs/theory.md (e.g. "T3" for eq. (T3) of §2).
    """

    value: float
    label: str


def predicted_p_c(model, d, *, m=None, K=None, competitors="decoupled", embedding="gaussian"):
    """The theory's capacity of a simulated memory, labelled; NaN where no theory applies.

    Parameters
    ----------
    model : {"decoupled", "coupled", "hebbian", "two-layer-frozen", "two-layer"}
        The simulated memory.  "decoupled" and "coupled" are compared with the
        decoupled finite-size capacity p_c(d) (docs/theory.md §2, eq. (T3)).
    d : int
        Embedding dimension.
    m : int, optional
        Hidden width (the two-layer models only; required there).
    K : int, optional
        A fixed number of competitors; the theories here assume K = p - 1, so any
        other K gives NaN.
    competitors : {"decoupled", "coupled"}
        The Hebbian memory's competitors (docs/theory.md §5).
    embedding : {"gaussian", "sphere"}
        The Hebbian memory's embeddings.

    Returns
    -------
    Prediction
        ``value`` and ``label``: for "hebbian" the p at which P(all p recalled) = 1/2
        (:func:`capacity.theory.hebbian.hebbian_p_c`, conditional picture); for the
        two-layer models :func:`capacity.theory.two_layer.p_c_two_layer` (trained
        with m < d: the conjecture N = 2dm - m^2; m >= d: the one-layer N = d^2); otherwise :func:`capacity.theory.p_c`.
        A ``ValueError`` of the theory (e.g. too small a memory to store two items)
        becomes ``value = NaN`` with ``label = "theory: n/a (<message>)"``.

    Raises
    ------
    ValueError
        If ``model`` is not one of the names above, or a two-layer model has no ``m``.

    Examples
    --------
    >>> r = predicted_p_c("decoupled", 16)
    >>> round(r.value, 2), r.label
    (61.65, 'theory p_c (decoupled, docs/theory.md T3)')
    >>> predicted_p_c("coupled", 16, K=5).label
    'theory: n/a for K != p - 1'
    """
    if model not in PREDICT_MODELS:
        raise ValueError(f"`model` must be one of {', '.join(PREDICT_MODELS)}; got {model!r}")
    two_layer = model in ("two-layer-frozen", "two-layer")
    if two_layer and m is None:
        raise ValueError(f"`m` (hidden width) is required for model {model!r}")
    nan = float("nan")
    if K is not None:
        return Prediction(nan, "theory: n/a for K != p - 1")
    try:
        if model == "hebbian":
            from .hebbian import hebbian_p_c

            value = hebbian_p_c(d, criterion="all", model=competitors, embedding=embedding)
            return Prediction(value, f"theory p at P(all recalled) = 1/2 (Hebbian, {competitors} competitors, "
                                     f"{embedding}, finite-d)")
        if two_layer:
            from .two_layer import p_c_two_layer

            trained = model == "two-layer"
            res = p_c_two_layer(d, m, trained=trained)
            what = "conjecture N = 2dm - m^2" if trained and m < d else ("N = d^2" if m >= d else "N = dm")
            return Prediction(res.p_c, f"theory p_c ({what}, decoupled, docs/theory.md T3)")
        from .decoupled import expected_dist2, p_c

        if d * d < 2 * expected_dist2(1):
            return Prediction(nan, "theory: n/a")
        return Prediction(p_c(d), "theory p_c (decoupled, docs/theory.md T3)")
    except ValueError as exc:
        return Prediction(nan, f"theory: n/a ({exc})")
