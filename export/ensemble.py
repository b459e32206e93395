"""An ensemble of one architecture's trainings (seeds), served as one ONNX graph.

Model 2 is trained more than once on the same data with different seeds (weights, dropout,
augmentation order); its members' probabilities are averaged. Each training alone swings a
lot between seeds on unseen patients (a whole template of one patient's beats can land on
either side of the threshold), and their average swings less: in the patient-wise
cross-validation two members labelled ventricular beats better than either alone
(``python -m research.ensemble_cv``, models/ventricular.md).

On disk the members are ``NAME.keras`` (member 0, the one fine-tuning and Grad-CAM start from)
and ``NAME_1.keras``, ``NAME_2.keras``, ... beside it (:func:`member_paths`). The ONNX graph
(:func:`merge_members`) holds every member's graph under its own name prefix, all reading the
one input ``window``; ``probabilities`` is their mean and ``p_passes`` (Monte-Carlo dropout
passes, :mod:`ecgtk.export.mc_dropout`) their passes side by side, member 0's first. So
ONNX Runtime runs the members in one call and ``ecgtk run`` needs to know nothing of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["member_path", "member_paths", "merge_members", "passes_for", "passes_per_member"]


def member_path(first: str | Path, index: int) -> Path:
    """Where member ``index`` of the ensemble whose member 0 is ``first`` lives
    (``ventricular.keras`` -> ``ventricular_1.keras`` for index 1)."""
    first = Path(first)
    if index == 0:
        return first
    return first.with_name(f"{first.stem}_{index}{first.suffix}")


def member_paths(first: str | Path) -> list[Path]:
    """``first`` and the members after it that exist beside it, in order (consecutive
    numbers from 1; the first missing number ends the list)."""
    paths = [Path(first)]
    while member_path(first, len(paths)).is_file():
        paths.append(member_path(first, len(paths)))
    return paths


def passes_for(passes: int, members: int) -> int:
    """The Monte-Carlo dropout passes an ensemble of ``members`` exports for a wish of
    ``passes``: the largest multiple of ``members`` not above it (each member gives as many)."""
    if members < 1:
        raise ValueError(f"an ensemble needs at least one member, got {members}")
    return passes - passes % members


def passes_per_member(passes: int, members: int) -> int:
    """How many of an ensemble's ``passes`` Monte-Carlo dropout passes each of its ``members``
    gives; ValueError unless they share out evenly (see :func:`passes_for`)."""
    if members < 1 or passes % members:
        raise ValueError(f"mc_passes {passes} must be a multiple of the {members} ensemble "
                         "members")
    return passes // members


def merge_members(members: Sequence) -> object:
    """One ONNX ``ModelProto`` from the members' (same input and outputs, same opset): each
    member's nodes and constants renamed under ``m<i>/``, then ``Mean`` of their
    ``probabilities`` and ``Concat`` (axis 1) of their ``p_passes`` when they have them."""
    import onnx
    from onnx import helper

    from ecgtk.export.architecture import INPUT_NAME, OUTPUT_NAME
    from ecgtk.export.mc_dropout import PASSES_OUTPUT_NAME

    if not members:
        raise ValueError("an ensemble needs at least one member")
    first = members[0]
    outputs = [o.name for o in first.graph.output]
    if [i.name for i in first.graph.input] != [INPUT_NAME] or outputs[0] != OUTPUT_NAME:
        raise ValueError(f"members must read {INPUT_NAME!r} and give {OUTPUT_NAME!r} first")
    nodes, initializers, value_infos = [], [], []
    for i, member in enumerate(members):
        if [o.name for o in member.graph.output] != outputs:
            raise ValueError(f"member {i} has outputs {[o.name for o in member.graph.output]}, "
                             f"member 0 {outputs}")
        nodes_i, initializers_i, infos_i = _prefixed(member.graph, f"m{i}/", keep={INPUT_NAME})
        nodes += nodes_i
        initializers += initializers_i
        value_infos += infos_i
    nodes.append(helper.make_node("Mean", [f"m{i}/{OUTPUT_NAME}" for i in range(len(members))],
                                  [OUTPUT_NAME], name="ensemble/mean"))
    graph_outputs = [_copy(first.graph.output[0])]
    if PASSES_OUTPUT_NAME in outputs:
        nodes.append(helper.make_node(
            "Concat", [f"m{i}/{PASSES_OUTPUT_NAME}" for i in range(len(members))],
            [PASSES_OUTPUT_NAME], name="ensemble/passes", axis=1))
        passes = _copy(first.graph.output[outputs.index(PASSES_OUTPUT_NAME)])
        per_member = passes.type.tensor_type.shape.dim[1]
        if per_member.HasField("dim_value"):
            per_member.dim_value *= len(members)
        graph_outputs.append(passes)
    graph = helper.make_graph(nodes, f"ensemble_of_{len(members)}_{first.graph.name}",
                              [_copy(first.graph.input[0])], graph_outputs, initializers,
                              value_info=value_infos)
    merged = helper.make_model(graph, opset_imports=list(first.opset_import),
                               producer_name=first.producer_name,
                               producer_version=first.producer_version,
                               ir_version=first.ir_version)
    onnx.checker.check_model(merged, full_check=True)
    return merged


def _copy(proto):
    out = type(proto)()
    out.CopyFrom(proto)
    return out


def _prefixed(graph, prefix: str, keep: set[str]) -> tuple[list, list, list]:
    """The graph's nodes, initializers and value infos with every tensor and node name under
    ``prefix``, except the names in ``keep`` (the shared input) and empty (absent) inputs."""

    def rename(name: str) -> str:
        return name if not name or name in keep else prefix + name

    nodes = []
    for node in graph.node:
        if any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute):
            raise ValueError(f"node {node.name!r} has a subgraph; ensembles of such graphs "
                             "are not supported")
        renamed = _copy(node)
        renamed.name = rename(node.name) if node.name else ""
        renamed.input[:] = [rename(n) for n in node.input]
        renamed.output[:] = [rename(n) for n in node.output]
        nodes.append(renamed)
    initializers = []
    for tensor in graph.initializer:
        renamed = _copy(tensor)
        renamed.name = rename(tensor.name)
        initializers.append(renamed)
    infos = []
    for info in graph.value_info:
        renamed = _copy(info)
        renamed.name = rename(info.name)
        infos.append(renamed)
    return nodes, initializers, infos
