"""A thesaurus of synonyms that expands a query: "CB" finds the article about the bank card.

Each group holds expressions of one language that mean the same thing in the base ("carte
bancaire", "carte bleue", "CB"). An expression of the query that belongs to a group brings in the
other members, at a lower weight than the words actually typed, so a synonym helps recall without
outranking an exact match.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from joignable.knowledge.text import Lang, analyzer

# Below a typed word (1.0) so an exact match outranks a synonym. Synonyms are only added for
# expressions the base does not use itself (see LexicalIndex.query_terms).
SYNONYM_WEIGHT = 0.3


@dataclass(frozen=True)
class Expansion:
    """One stem added to a query because ``source`` (typed) is a synonym of ``synonym``."""

    stem: str
    weight: float
    source: str
    synonym: str
    source_stems: tuple[str, ...] = ()


class Thesaurus:
    """Synonym groups per language, matched on stems so inflections need no entries."""

    def __init__(self, groups: Iterable[tuple[Lang, Sequence[str]]] = ()) -> None:
        # Per language: each expression as a tuple of stems -> the groups it belongs to.
        self._groups: list[tuple[Lang, tuple[str, ...]]] = []
        self._by_phrase: dict[Lang, dict[tuple[str, ...], list[int]]] = {"fr": {}, "en": {}}
        self._members: list[list[tuple[tuple[str, ...], str]]] = []
        for lang, members in groups:
            self.add(lang, members)

    def add(self, lang: Lang, members: Sequence[str]) -> None:
        """Declare ``members`` (two or more expressions of ``lang``) equivalent."""
        a = analyzer(lang)
        stems = [tuple(a.stems(m)) for m in members]
        index = len(self._groups)
        self._groups.append((lang, tuple(members)))
        self._members.append([(s, m) for s, m in zip(stems, members, strict=True) if s])
        for s in stems:
            if s:
                self._by_phrase[lang].setdefault(s, []).append(index)

    def __len__(self) -> int:
        return len(self._groups)

    def groups(self) -> list[tuple[Lang, tuple[str, ...]]]:
        """Every group as it was declared, for export and review."""
        return list(self._groups)

    def expand(self, lang: Lang, stems: Sequence[str]) -> list[Expansion]:
        """The stems to add to a query whose analyzed form is ``stems``."""
        phrases = self._by_phrase[lang]
        if not phrases:
            return []
        longest = max(len(p) for p in phrases)
        present = set(stems)
        out: list[Expansion] = []
        seen: set[str] = set(present)
        for start in range(len(stems)):
            for n in range(1, min(longest, len(stems) - start) + 1):
                phrase = tuple(stems[start : start + n])
                for g in phrases.get(phrase, ()):
                    typed = next(m for s, m in self._members[g] if s == phrase)
                    for other, member in self._members[g]:
                        for stem in other:
                            if stem not in seen:
                                seen.add(stem)
                                out.append(Expansion(stem, SYNONYM_WEIGHT, typed, member, phrase))
        return out


def default_thesaurus() -> Thesaurus:
    """A starter thesaurus for banking and telecom support; experts grow it, and the base
    learns more from queries that end on the same article."""
    fr: list[list[str]] = [
        ["carte bancaire", "carte bleue", "carte de paiement", "cb"],
        ["bloquée", "bloquer", "verrouillée", "opposition", "désactivée"],
        ["virement", "transfert"],
        ["retrait", "retirer", "distributeur", "dab", "guichet automatique"],
        ["remboursement", "rembourser", "avoir"],
        ["prélèvement", "débit"],
        ["frais", "commission", "tarif", "coût"],
        ["code", "pin", "code secret"],
        ["mot de passe", "identifiant", "code d'accès"],
        ["perdu", "perte", "égaré"],
        ["volé", "vol"],
        ["application", "appli", "app mobile"],
        ["résilier", "clôturer", "fermer", "résiliation"],
        ["facture", "relevé"],
        ["box", "modem", "routeur"],
        ["internet", "connexion", "réseau"],
        ["panne", "coupure", "ne marche pas", "ne fonctionne pas"],
        ["refusé", "rejeté", "décliné"],
    ]
    # Not "card" / "debit card" / "credit card": a bank tells them apart (BANKING77 does).
    en: list[list[str]] = [
        ["cash machine", "atm", "cashpoint"],
        ["blocked", "frozen", "locked", "suspended"],
        ["transfer", "wire", "payment to"],
        ["refund", "reimburse", "money back"],
        ["fee", "charge", "commission", "cost"],
        ["pin", "passcode", "code"],
        ["password", "login", "credentials"],
        ["lost", "misplaced", "missing"],
        ["stolen", "theft"],
        ["declined", "rejected", "refused", "denied"],
        ["router", "modem", "box"],
        ["outage", "down", "not working", "broken"],
        ["top up", "topup", "add money", "load money"],
    ]
    t = Thesaurus()
    for group in fr:
        t.add("fr", group)
    for group in en:
        t.add("en", group)
    return t
