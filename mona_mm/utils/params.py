"""Trainable / total parameter counts of a model, by part, as the paper reports them."""
from typing import Dict, List, NamedTuple, Sequence

import torch.nn as nn

PARTS = ('backbone adapters', 'backbone other trainable', 'backbone frozen', 'neck', 'heads')


class PartCount(NamedTuple):
    part: str
    trainable: int
    total: int


def tuned_backbones(model: nn.Module) -> Dict[str, nn.Module]:
    """Modules of ``model`` that carry a tuning method (``SwinMona``, ``ViTMona``), by name."""
    return {n: m for n, m in model.named_modules() if hasattr(m, 'trainable_param_names')}


def _part_of(name: str, adapter_names: set, in_backbone: bool, trainable: bool) -> str:
    if in_backbone:
        if name in adapter_names:
            return 'backbone adapters'
        return 'backbone other trainable' if trainable else 'backbone frozen'
    return 'neck' if name.startswith('neck.') else 'heads'


def count_by_part(model: nn.Module) -> List[PartCount]:
    """Count parameters of a detector/segmentor (or a bare backbone) by part.

    The backbone is the child named ``backbone`` (or the model itself when it is a tuned
    backbone); its adapter parameters are those its tuning methods inserted. Everything outside
    the backbone that is not under ``neck`` counts as heads.
    """
    if hasattr(model, 'trainable_param_names'):
        backbone, prefix = model, ''
    else:
        backbone, prefix = getattr(model, 'backbone', None), 'backbone.'
    adapters = {prefix + n for n in getattr(backbone, 'adapter_param_names', ())}
    counts = {p: [0, 0] for p in PARTS}
    for name, param in model.named_parameters():
        in_backbone = backbone is not None and (prefix == '' or name.startswith(prefix))
        part = _part_of(name, adapters, in_backbone, param.requires_grad)
        counts[part][0] += param.numel() if param.requires_grad else 0
        counts[part][1] += param.numel()
    return [PartCount(p, t, n) for p, (t, n) in counts.items()]


def format_param_table(counts: List[PartCount]) -> str:
    """A text table with trainable/total per part; percentages are of the pretrained backbone
    (its parameters without the inserted adapters), as the paper reports them."""
    pretrained = sum(c.total for c in counts
                     if c.part.startswith('backbone') and c.part != 'backbone adapters') or 1
    backbone_trainable = sum(c.trainable for c in counts if c.part.startswith('backbone'))
    backbone_total = sum(c.total for c in counts if c.part.startswith('backbone'))
    rows = [('part', 'trainable', 'total', '% of pretrained backbone')]
    for c in counts:
        share = f'{100 * c.trainable / pretrained:.2f}%' if c.part.startswith('backbone') else ''
        rows.append((c.part, f'{c.trainable:,}', f'{c.total:,}', share))
    rows.append(('backbone trainable (all)', f'{backbone_trainable:,}', f'{backbone_total:,}',
                 f'{100 * backbone_trainable / pretrained:.2f}%'))
    total_t = sum(c.trainable for c in counts)
    rows.append(('whole model', f'{total_t:,}', f'{sum(c.total for c in counts):,}', ''))
    return format_table(rows)


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of text cells as an aligned plain-text table.

    The first row is the header, ruled off by a line of dashes; the first column (labels) is
    left-aligned and the others (numbers) right-aligned; columns are two spaces apart.

    Args:
        rows: The header, then the data rows; every row has the same number of cells.
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)
