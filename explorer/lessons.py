"""A lesson: a sequence of views, each on the page that shows it best, written for someone who
has never heard of a cone.

A teacher walks a class through the steps (the sidebar's Previous / Next), or hands out a link
to one step (``/steps?lesson=6``; with ``&controls=hide`` for students). Each step names its
page, its cone (the URL form of ``A``), one idea, what to look at, one question to think about,
and the settings of the page's widgets. A step sets *every* setting of its page
(:func:`step_settings`: the page's defaults, then the step's own), so nothing leaks from the step
before, and Next and a fresh link show the same view.

Words in ``[[double brackets]]`` are glossary terms (:mod:`explorer.glossary`): the banner links
them to the Glossary page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conecore import ConeInputError, from_url_text


@dataclass(frozen=True)
class LessonStep:
    title: str
    page: str  # a page's name in explorer.shell.PAGES: build, steps, train, samples, vae
    A: str  # the cone, as in ``?A=`` (rows ";", entries ",")
    idea: str  # the one idea of this step
    look: str  # what to look at on the page
    question: str  # one question to think about
    widgets: dict[str, object] = field(default_factory=dict)  # the page's widgets, by key


# Every setting a lesson step may touch, per page, at its default: a step starts from these.
PAGE_SETTINGS: dict[str, dict[str, object]] = {
    "build": {"show_polar_2d": False, "show_polar_3d": False, "show_normals_3d": True},
    "steps": {"dd_step": None, "dd_order": None},  # None: the page's own default for the cone
    "train": {"train_set": "cone"},  # a polyhedron chosen earlier must not replace the cone
    "samples": {"samples_set": "cone"},
    "vae": {},
    # poly_step: the step-by-step slider at its last step (the page clamps it to the number of
    # inequalities), not wherever a student left it.
    "polyhedra": {"poly_mode": "Example", "poly_example": "square", "poly_scale": 10.0,
                  "poly_step": 10**6},
}

PYRAMID = "1,0,-1;-1,0,-1;0,1,-1;0,-1,-1"
WEDGE = "1,-2;-3,1"

LESSON: tuple[LessonStep, ...] = (
    LessonStep(
        "One constraint: a half-plane", "build", "1,1",
        "One inequality a·x ≤ 0 keeps every point x on one side of a line through the origin: "
        "a [[half-space]]. The arrow a is its [[normal]]: it points out of the allowed side.",
        "The shaded half-plane, the dashed arrow a1 = (1, 1), and the counts: one "
        "[[extreme ray]] r1 = (−1, −1), pointing straight away from a1, and one [[line]] along "
        "the boundary.",
        "Why does the boundary count as a line of the cone, but the direction of r1 only as a "
        "ray?"),
    LessonStep(
        "Two constraints: a wedge", "build", WEDGE,
        "Two half-planes overlap in a wedge: a [[cone]] with two [[extreme ray|extreme rays]] "
        "r1 and r2 along its edges.",
        "The darker wedge and its two arrows. Pick any point inside: you reach it by walking "
        "some amount along r1, then some amount along r2, never backwards.",
        "Which points could you reach if you were also allowed to walk backwards along r1?"),
    LessonStep(
        "The polar cone", "build", WEDGE,
        "Every cone has a partner, its [[polar cone]] (red): all directions that make an angle "
        "of at least 90° with every point of the cone.",
        "The red cone and the small squares: each edge of the red cone is at a right angle to "
        "an edge of the blue one. The normals a1, a2 are the red cone's rays.",
        "What is the polar cone of the polar cone?",
        {"show_polar_2d": True}),
    LessonStep(
        "Too many constraints: only the origin", "build", "1,1;-1,0;0,-1",
        "When the normals point all around, no direction satisfies every inequality: the cone "
        "is only the origin.",
        "The counts: no ray, no line. The picture shows the three half-planes and no overlap "
        "but the point 0.",
        "A network's last layer must output points of this cone. What can it output?"),
    LessonStep(
        "A pyramid in 3-D", "build", PYRAMID,
        "In space, four inequalities can cut out a pyramid with its tip at the origin: four "
        "faces, four [[extreme ray|extreme rays]] along its edges.",
        "Drag the picture to turn it. Each face lies on one plane a·x = 0; each edge, where two "
        "faces meet, is a ray.",
        "How many rays would a pyramid with five faces have?"),
    LessonStep(
        "Finding the rays: the double description", "steps", PYRAMID,
        "The [[double description]] method finds the rays by adding the inequalities one at a "
        "time, starting from the whole space.",
        "Press Play all steps. At each step the new plane cuts off some rays (faded) and keeps "
        "others; a new ray is born between each [[adjacent rays|adjacent]] pair of a cut-off "
        "and a kept ray.",
        "Why is a new ray born exactly on the new plane?",
        {"dd_step": 0}),
    LessonStep(
        "The same cone in another order", "steps", PYRAMID,
        "The order of the inequalities changes the rays along the way, never the rays at the "
        "end.",
        "The order box says 1, 3, 2, 4. Step 2 adds a3 = (0, 1, −1) instead of a2. Compare "
        "the rays after step 2 with the previous lesson's step 2, then go to the last step.",
        "Which order would give the fewest rays along the way?",
        {"dd_order": "1, 3, 2, 4", "dd_step": 2}),
    LessonStep(
        "A cone that contains a line", "build", "1,-2,0;-3,1,0",
        "A cone can contain a whole [[line]]: here the wedge of lesson 2, stretched along the "
        "third axis in both directions.",
        "The counts: two rays and one line, (0, 0, 1). Every point is a combination of the "
        "rays with non-negative weights, plus any multiple of the line, forward or backward.",
        "Why can a cone that contains a line never have its tip at a single point?"),
    LessonStep(
        "Training: never outside", "train", WEDGE,
        "A [[ConeLayer]] outputs a [[non-negative combination]] of the rays (plus any multiple "
        "of the lines), so every output is in the cone, whatever the weights.",
        "Press Play. The ConeLayer's curve of outputs outside the cone stays at 0 from the "
        "first step; the unconstrained network's does not; the penalty only lowers it.",
        "Why does the ConeLayer need no penalty weight and no projection step?"),
    LessonStep(
        "Generating: samples stay inside", "samples", WEDGE,
        "A generative model whose last layer is a ConeLayer can only draw points of the cone.",
        "Train both decoders and play the animation: the ConeLayer's samples move up to the "
        "edge of the wedge, as close to the target as the cone allows, and never cross it; "
        "the twin's red crosses do.",
        "Where in the wedge do the ConeLayer's samples end up, and why there?"),
    LessonStep(
        "The paper's application: a constrained VAE", "vae", WEDGE,
        "Images can be constrained too: each painted block of pixels must have a [[block sum]] "
        "of the painted sign (+: positive, −: negative). The ConeLayer decoder obeys it in "
        "every image it draws.",
        "Train an epoch. Compare the share of images that obey the constraint: the ConeLayer "
        "decoder's, the unconstrained twin's, and the twin's after projection, with the cost "
        "per image of each.",
        "The constraint costs the ConeLayer some image quality. When is that worth it?"),
    LessonStep(
        "Beyond cones: a polytope from a cddlib file", "polyhedra", WEDGE,
        "When the inequalities are a·x ≤ b with b ≠ 0, the allowed set is a [[polyhedron]]: "
        "here a hexagon, read from a file in cddlib's format. Its corners are [[vertex|"
        "vertices]]; a layer that outputs a [[convex combination]] of them stays inside.",
        "The hexagon, its six vertices v1 … v6, and the 400 outputs of a network with random "
        "weights: all inside, even for inputs of scale 1000.",
        "Which points can a convex combination of the six vertices reach, and which not?",
        {"poly_example": "hexagon"}),
)


def lesson_step(k: object) -> LessonStep:
    """Step ``k`` (1-based, as in the URL); a clear error for anything else."""
    try:
        i = int(str(k).strip())
    except ValueError:
        raise ConeInputError(f"lesson step must be a number from 1 to {len(LESSON)}; got "
                             f"{k!r}") from None
    if not 1 <= i <= len(LESSON):
        raise ConeInputError(f"lesson step must be from 1 to {len(LESSON)}; got {i}")
    return LESSON[i - 1]


def step_settings(step: LessonStep) -> dict[str, object]:
    """Every setting of the step's page: the page's defaults, then the step's own values.

    On the Steps page the defaults depend on the cone: the order 1, 2, ..., m and the last
    step."""
    settings = {**PAGE_SETTINGS.get(step.page, {}), **step.widgets}
    if step.page == "steps":
        m = len(from_url_text(step.A))
        if settings.get("dd_order") is None:
            settings["dd_order"] = ", ".join(str(i + 1) for i in range(m))
        if settings.get("dd_step") is None:
            settings["dd_step"] = m
    return settings
