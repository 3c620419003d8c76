"""The plan of a recipe with its grounding resolved (`sarcgen.generate.grounding`): rewrite sources
named in the run's recipe.yaml, evaluation files kept out of them, and a record's prompt drawn again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sarcgen.errors import RecipeError
from sarcgen.generate.grounding import template_name, without_source
from sarcgen.generate.plan import Plan, ShardSpec
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
