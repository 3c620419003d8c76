"""The plan of a recipe with its grounding resolved (`sarcgen.generate.grounding`): rewrite sources
named in the run's recipe.yaml, evaluation files kept out of them, a record's prompt drawn again, and
what a reply changed of its plan item's rewrite source."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sarcgen.errors import RecipeError
from sarcgen.generate.grounding import edit_size, template_name, without_source
from sarcgen.generate.plan import Plan, PlanItem, ShardSpec
from sarcgen.prompts import PromptTemplate, load_template
from sarcgen.recipe import Recipe

if TYPE_CHECKING:
    from sarcgen.records import Review


def resolve_sources(recipe: Recipe) -> Recipe:
    """The recipe with `generate.grounding.sources` spelled out (default: finetune.base_data), so the
    run folder's recipe.yaml names the file its sources came from."""
    g = recipe.generate
    if g.grounding.mode != "rewrite" or g.grounding.sources:
        return recipe
    if not recipe.finetune.base_data:
        raise RecipeError("generate.grounding.mode rewrite needs real reviews: generate.grounding.sources is not set "
                          "and neither is finetune.base_data",
                          "pass --sources DIR_OR_FILE (e.g. ../shared/data/imdb, or `embedded` for the packaged sample)")
    grounding = g.grounding.model_copy(update={"sources": recipe.finetune.base_data})
    return recipe.model_copy(update={"generate": g.model_copy(update={"grounding": grounding})})


def plan_for(recipe: Recipe, shard: ShardSpec = None) -> Plan:
    """The plan of a recipe, rewrite sources resolved and evaluation files kept out of them."""
    recipe = resolve_sources(recipe)
    against = tuple(recipe.filter.against) + tuple(recipe.finetune.challenge)
    return Plan(recipe.generate, shard=shard, against=against)


def template_for(recipe: Recipe) -> PromptTemplate:
    """The template a recipe's run renders (rewrite mode swaps the default review.j2 for rewrite.j2)."""
    return load_template(template_name(recipe.generate.template, recipe.generate.grounding))


def grounded_messages(recipe: Recipe) -> Callable[[Review], list[dict[str, str]]]:
    """Review -> the prompt it was generated from, less its rewrite source, for the filter's
    prompt-copy check: the plan item is drawn again (same sources, same examples) and rendered."""
    from sarcgen.prompts import review_messages

    plan = plan_for(recipe)
    template = template_for(recipe)
    attrs = recipe.generate.attributes

    def messages(review: Review) -> list[dict[str, str]]:
        item = plan.item(str(review.id))
        if item is None:
            return []
        return without_source(review_messages(template, item, attrs), item.source_text)

    return messages


def source_edit(item: PlanItem, text: str) -> float | None:
    """How much a reply changed its item's rewrite source (`edit_size`), or None for a freely composed item."""
    return edit_size(item.source_text, text) if item.source_text else None


def source_provenance(item: PlanItem, edit: float | None) -> dict[str, object] | None:
    """{key, label, words, edit} of the item's rewrite source, or None for a freely composed item."""
    if edit is None:
        return None
    return {"key": item.source_key, "label": item.source_label, "words": item.source_words, "edit": edit}
