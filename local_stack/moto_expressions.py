"""UpdateItem without parsing the same expressions again and again.

moto parses a request's UpdateExpression twice (once to list the names and values it uses, once to run
it) and its ConditionExpression twice, then validates the update by copying its syntax tree and walking
it ten times. A worker sends the same few expressions over and over, with new values, so:

- an UpdateExpression is parsed once per expression string; moto never changes the tree it parsed (its
  validator works on a copy), and the copy is made from a pickled form, several times cheaper than a
  deep copy of a tree whose nodes point at their parents;
- a ConditionExpression is parsed once per expression string, names and the values it refers to: the
  result holds those and nothing else of the request, and moto only ever evaluates it;
- the checks of an UpdateExpression that depend on it, its names and the table's key alone (one clause
  of each kind, no overlapping paths, no key attribute updated) run once per expression, names and key
  schema; the checks that depend on the values and the item run every time.

Invalid expressions are never cached: each request that sends one gets moto's own error.

The reply's old values without a deep copy of the item: moto copies the whole item, all its nested maps
and lists, only to read its attributes in wire form once (for ReturnValues). Reading them in wire form is
a copy already (Item.to_json builds new maps and lists throughout), so we read them when moto copies.
"""

import copy
import json
import pickle
import threading
import types
from collections.abc import Callable
from typing import Any

from moto.dynamodb import responses
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

_CACHE_SIZE = 4096  # distinct entries per cache before it starts afresh: expressions are few, values many
_SYNTACTIC_CHECKS = (
    validators.ActionCountValidator,
    validators.OverlappingPathsValidator,
    validators.UpdateHashRangeKeyValidator,
)

_parsed_updates: dict[str, tuple[Node, bytes]] = {}
_pickled_by_tree: dict[int, tuple[Node, bytes]] = {}  # a cached tree's id -> the tree and its pickled form
_conditions: dict[tuple[Any, ...], tuple[Any, list[str], list[str]]] = {}
_condition_placeholders: dict[str, tuple[list[str], list[str]]] = {}
_checked: set[tuple[Any, ...]] = set()  # (pickled tree, names, table key) whose shape checks passed
_guard = threading.Lock()


def install() -> None:
    """Idempotent: replaces moto's parsing and validation entry points with cached ones."""
    if getattr(UpdateExpressionParser.make, "_cached", False):
        return
    UpdateExpressionParser.make = classmethod(_cached_make(UpdateExpressionParser.make.__func__))  # type: ignore[method-assign,assignment,attr-defined]
    validators.deepcopy = _copy_of_cached_trees(validators.deepcopy)  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = _cached_parse(ConditionExpressionParser.parse)  # type: ignore[method-assign]
    update_validator = validators.UpdateExpressionValidator
    update_validator.validate = _checking_once(update_validator.validate)  # type: ignore[method-assign]
    responses.copy = _copying_items_as_replies()  # type: ignore[attr-defined]
    DepthFirstTraverser.nodes_to_be_processed = _node_types_once(DepthFirstTraverser.nodes_to_be_processed)  # type: ignore[method-assign]


def _remembered(cache: dict[Any, Any], key: Any, value: Any) -> None:
    with _guard:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = value


def _cached_make(make: Callable[..., Node]) -> Callable[..., Node]:
    def cached_make(cls: type, expression: str) -> Node:
        hit = _parsed_updates.get(expression)
        if hit is None:
            tree = make(cls, expression)
            hit = (tree, pickle.dumps(tree, pickle.HIGHEST_PROTOCOL))
            with _guard:
                if len(_parsed_updates) >= _CACHE_SIZE:
                    _parsed_updates.clear()
                    _pickled_by_tree.clear()
                _parsed_updates[expression] = hit
                _pickled_by_tree[id(tree)] = hit
        return hit[0]

    cached_make._cached = True  # type: ignore[attr-defined]
    return cached_make


def _copy_of_cached_trees(deepcopy: Callable[..., Any]) -> Callable[..., Any]:
    """The validator's copy of a tree: unpickled when the tree is a cached one, moto's deep copy else."""

    def copy_for_validation(value: Any, memo: dict[int, Any] | None = None) -> Any:
        cached = _pickled_by_tree.get(id(value))
        if memo is None and cached is not None and cached[0] is value:
            tree = pickle.loads(cached[1])  # noqa: S301 - bytes this module pickled
            tree._pickled = cached[1]  # which expression this copy is, for _checking_once
            return tree
        return deepcopy(value, memo)

    return copy_for_validation


def _frozen(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _cached_parse(
    parse: Callable[[ConditionExpressionParser], Any],
) -> Callable[[ConditionExpressionParser], Any]:
    def cached_parse(parser: ConditionExpressionParser) -> Any:
        key = _condition_key(parser)
        hit = _conditions.get(key) if key is not None else None
        if hit is None:
            condition = parse(parser)
            names_found, values_found = (
                list(parser.expr_attr_names_found),
                list(parser.expr_attr_values_found),
            )
            if parser.condition_expression:
                _remembered(_condition_placeholders, parser.condition_expression, (names_found, values_found))
                key = _condition_key(parser)
            if key is not None:
                _remembered(_conditions, key, (condition, names_found, values_found))
            return condition
        condition, names_found, values_found = hit
        parser.expr_attr_names_found.extend(names_found)
        parser.expr_attr_values_found.extend(values_found)
        return condition

    return cached_parse


def _condition_key(parser: ConditionExpressionParser) -> tuple[Any, ...] | None:
    """The expression with the names and values it uses (known once it was parsed); None when it was not
    parsed yet, or when the request lacks one of them (moto's parser then answers with its error)."""
    expression = parser.condition_expression
    placeholders = _condition_placeholders.get(expression) if expression else None
    if placeholders is None:
        return None
    names, values = parser.expression_attribute_names or {}, parser.expression_attribute_values or {}
    used_names = [name for name in placeholders[0] if name.startswith("#")]
    if any(name not in names for name in used_names) or any(value not in values for value in placeholders[1]):
        return None
    return (
        expression,
        tuple((name, names[name]) for name in used_names),
        tuple((value, _frozen(values[value])) for value in placeholders[1]),
    )


def _checking_once(validate: Callable[[Any], Node]) -> Callable[[Any], Node]:
    """moto's validation, but its first checks (the expression's shape against its names and the table's
    key) only the first time an expression comes with these names and this key schema."""

    def validate_update(validator: Any) -> Node:
        processors = validator.processors
        checks = len(_SYNTACTIC_CHECKS)
        if tuple(type(processor) for processor in processors[:checks]) != _SYNTACTIC_CHECKS:
            return validate(validator)
        node = validator.node_to_validate
        tree = getattr(node, "_pickled", None)
        if tree is None:
            return validate(validator)
        key = (tree, _frozen(validator.expression_attribute_names), tuple(validator.table.table_key_attrs))
        if key not in _checked:
            for processor in processors[:checks]:
                node = processor.traverse(node)
            _remember_checked(key)
        for processor in processors[checks:]:
            node = processor.traverse(node)
        return node

    return validate_update


def _remember_checked(key: tuple[Any, ...]) -> None:
    with _guard:
        if len(_checked) >= _CACHE_SIZE:
            _checked.clear()
        _checked.add(key)


def _node_types_once(
    nodes_to_be_processed: Callable[[Any], tuple[type, ...]],
) -> Callable[[Any], tuple[type, ...]]:
    """The node types a traverser handles, asked of it once instead of at every node it visits."""

    def node_types(traverser: Any) -> tuple[type, ...]:
        types = traverser.__dict__.get("_node_types")
        if types is None:
            types = traverser._node_types = nodes_to_be_processed(traverser)
        return types

    return node_types


class _ItemAsReplied:
    """An item as the UpdateItem reply reads it before the update: in wire form, read at copy time."""

    def __init__(self, item: Item) -> None:
        self._attributes = item.to_json()["Attributes"]

    def to_json(self, root_attr_name: str = "Attributes") -> dict[str, Any]:
        return {root_attr_name: self._attributes}


def _copying_items_as_replies() -> types.SimpleNamespace:
    """The copy module as moto's DynamoDB replies see it: an Item's deep copy is its wire form."""

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return _ItemAsReplied(value) if type(value) is Item and memo is None else copy.deepcopy(value, memo)

    return types.SimpleNamespace(**{**vars(copy), "deepcopy": deepcopy})
