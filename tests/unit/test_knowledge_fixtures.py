"""A small valid knowledge base (YAML) shared by the knowledge tests; no test here."""

from __future__ import annotations

VALID = """
version: 1
articles:
  - id: unblock-card
    title: Débloquer une carte bancaire
    lang: fr
    kind: procedure
    audience: agent
    steps: [Vérifier l'identité, Lever l'opposition temporaire]
    tags: [carte]
    phrasings: [ma carte est bloquée]
  - id: new-card
    title: Commander une nouvelle carte
    lang: fr
    kind: answer
    audience: customer
    body: La nouvelle carte arrive sous 5 jours.
flows:
  - id: identify
    title: Identifier le client
    lang: fr
    start: ask_id
    nodes:
      ask_id: {type: question, text: "Numéro client ?", fact: customer_id, input: integer, next: ok}
      ok: {type: outcome, result: resolved}
  - id: card-blocked
    title: Carte bloquée
    lang: fr
    start: who
    phrasings: [carte bloquée, carte refusée]
    nodes:
      who: {type: call, flow: identify, next: ask_card}
      ask_card:
        type: question
        text: "Quelle carte ?"
        fact: card
        choices:
          - {label: Visa, value: visa, next: ask_amount}
          - {label: Mastercard, value: mastercard, next: ask_amount}
          - {label: Je ne sais pas, value: unknown, next: human}
      ask_amount:
        type: question
        text: "Montant du paiement refusé ?"
        fact: amount
        input: number
        next: route
      route:
        type: logic
        rules:
          - when: [{fact: amount, op: gt, value: 1000}]
            next: human
          - when: [{fact: card, op: eq, value: visa}, {fact: segment, op: eq, value: premium}]
            next: premium
        default: unblock
      unblock: {type: outcome, result: resolved, article: unblock-card}
      premium: {type: outcome, result: resolved, article: new-card}
      human: {type: handover, queue: cards, skill: cards}
"""
