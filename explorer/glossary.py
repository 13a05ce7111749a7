"""The words of the lesson and the pages, each explained for someone who has never met them.

Plain Python (no Streamlit): the Glossary page draws :data:`GLOSSARY`; :func:`link_terms`
turns a lesson's ``[[term]]`` or ``[[term|shown words]]`` into a Markdown link to the term's
entry on that page.
"""

from __future__ import annotations

import re

GLOSSARY: dict[str, str] = {
    "half-space": "All points x on one side of a line (in the plane) or a plane (in space) "
                  "through the origin: the points with a·x ≤ 0 for one fixed vector a.",
    "normal": "The vector a of an inequality a·x ≤ 0. It is at a right angle to the boundary "
              "and points *out of* the allowed side (drawn as a dashed arrow).",
    "cone": "The points that satisfy several inequalities a·x ≤ 0 at once, written A x ≤ 0 "
            "(one row of the matrix A per inequality). With any point, a cone contains the "
            "whole half-line from the origin through it.",
    "extreme ray": "An edge of a cone: a direction r in the cone that is not a mix of two other "
                   "directions of the cone. Every point of a cone without lines is a "
                   "non-negative combination of its extreme rays.",
    "line": "A direction l such that the cone contains both l and −l: the cone extends forever "
            "both ways along it. The lines of a cone form its lineality space.",
    "lineality space": "All the lines a cone contains, together: the points x with A x = 0.",
    "pointed": "A cone that contains no line: its tip is the single point 0.",
    "non-negative combination": "μ1 r1 + μ2 r2 + … with every weight μ ≥ 0: walking along "
                                "the rays, never backwards.",
    "Minkowski–Weyl theorem": "Every cone given by inequalities, A x ≤ 0, is also given by "
                              "generators: the points L t + Rᵀμ with any t and μ ≥ 0, where "
                              "the rows of R are its extreme rays and the columns of L span its "
                              "lines. And the other way round.",
    "polar cone": "The directions y with y·x ≤ 0 for every x in the cone. Its rays are the "
                  "normals of the cone's faces, and the polar of the polar is the cone again.",
    "double description": "The method that turns inequalities into rays and lines (and back): "
                          "start from the whole space and add one inequality at a time, keeping "
                          "the rays on the allowed side and making new ones on the new "
                          "boundary.",
    "adjacent rays": "Two rays that share a face: no third ray satisfies with equality every "
                     "inequality that both satisfy with equality. When one is cut off and the "
                     "other kept, a new ray is born between them.",
    "ConeLayer": "A network layer that outputs L t + Rᵀμ with μ = softplus(…) ≥ 0: a "
                 "combination of the cone's lines and a non-negative combination of its rays, "
                 "so every output is in the cone.",
    "projection": "Moving a point that is outside the cone to the nearest point inside. It "
                  "needs a small optimisation problem per point, which the ConeLayer avoids.",
    "penalty": "A term λ·(how far outside) added to the training loss. It makes outputs outside "
               "the cone rarer but never impossible, and λ has to be tuned.",
    "polyhedron": "The points that satisfy several inequalities a·x ≤ b at once, written "
                  "A x ≤ b. When every b is 0 it is a cone; a bounded one is a polytope.",
    "vertex": "A corner of a polyhedron: a point of it that is not between two other points "
              "of it.",
    "convex combination": "λ1 v1 + λ2 v2 + … with every weight λ ≥ 0 and the weights "
                          "adding up to 1: a point between the v's.",
    "block sum": "The sum of the pixels of one block of an image. A painted block asks for a "
                 "positive (+), negative (−) or zero (0) sum; the ConeLayer decoder's images "
                 "obey every painted block.",
}

_TERM = re.compile(r"\[\[([^\]|]+)(?:\|([^\]]+))?\]\]")


def anchor(term: str) -> str:
    """The HTML id of a term's entry (what Streamlit makes of its heading)."""
    return re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")


def link_terms(text: str, page_url: str = "glossary") -> str:
    """``[[term]]`` and ``[[term|words]]`` become Markdown links to the Glossary page; a word
    that is not in the glossary is left as plain words (a test keeps the lesson's terms in it)."""
    def replace(match: re.Match[str]) -> str:
        term, words = match.group(1), match.group(2) or match.group(1)
        if term not in GLOSSARY:
            return words
        return f"[{words}]({page_url}#{anchor(term)})"

    return _TERM.sub(replace, text)


def terms_in(text: str) -> list[str]:
    return [m.group(1) for m in _TERM.finditer(text)]
