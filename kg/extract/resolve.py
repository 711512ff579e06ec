"""Entity resolution within an article: one name per entity, the others aliases."""

from __future__ import annotations

from kg.extract.cues import ORG_NAME_TAILS, UNIT_SUFFIXES
from kg.extract.mentions import KIND_OF_TYPE, Mention
from kg.model import Entity


def resolve_entities(mentions: list[Mention]) -> tuple[list[Entity], dict[str, str]]:
    """Group mentions into entities; return them and a map canonical key → display name.

    An entity is written with the fullest Chinese name the article uses for it;
    lexicon 简称 that the article also uses become aliases, and so does a
    short name when its full form (short name + 集团/公司/汽车 …) occurs.
    """
    surfaces: dict[str, set[str]] = {}
    kinds: dict[str, str] = {}
    for m in mentions:
        surfaces.setdefault(m.key, set()).add(m.text)
        kinds.setdefault(m.key, m.type)
    merged = _merge_short_names(surfaces, kinds)
    display: dict[str, str] = {}
    entities: list[Entity] = []
    for key, forms in surfaces.items():
        if key in merged:
            continue
        forms = set(forms)
        for short, target in merged.items():
            if target == key:
                forms |= surfaces[short]
        name = max(sorted(forms), key=lambda form: (not form.isascii(), len(form)))
        display[key] = name
        aliases = forms - {name}
        entities.append(Entity(name, KIND_OF_TYPE[kinds[key]], aliases, key))
    for short, target in merged.items():
        display[short] = display[target]
    return entities, display


def _merge_short_names(surfaces: dict[str, set[str]], kinds: dict[str, str]) -> dict[str, str]:
    """Short organisation keys that name the same organisation as a longer one: the longer one
    adds a generic tail (库迪 → 库迪咖啡集团) or the parent's name before a unit (到家事业群 →
    美团到家事业群)."""
    merged: dict[str, str] = {}
    keys = sorted(surfaces, key=len)
    for short in keys:
        for long in keys:
            if long == short or not kinds[long] == kinds[short] == "ORG":
                continue
            if long.startswith(short) and long[len(short):] in ORG_NAME_TAILS or (
                    long.endswith(short) and short.endswith(UNIT_SUFFIXES) and len(short) >= 4):
                merged[short] = long
                break
    return merged

