"""The prompts roleext sends: the recipe's (CONTEXT.md), and the built-in extraction prompt.

The user may edit every one of them in the app or the CLI. Which prompt an inference job
sends is decided in one place, `inference_prompt`: a fine-tuned model gets exactly what it
was trained on (its input alone, unless the user gives an instruction), a base model gets
the built-in extraction prompt built from the schema.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from roleext.i18n import _
from roleext.schema import FIELDS, Field

if TYPE_CHECKING:
    from roleext.backends.base import Backend
    from roleext.project import InputSource

DEFAULT_INSTRUCTION = (
    "假设你是一个智能交互助手，基于用户的输入文本，解析其中语义，抽取关键信息，"
    "以json格式生成结构化的语义内容。"
)

DEFAULT_SUMMARY_PROMPT = """你是一个数据分析大师，你需要从群聊对话中进行分析，里面对话的角色中大部分是客服角色，你需要从中区分出有需求的客户，并得到以下四类数据。

****群聊对话****
{content}

****分析数据****
客户基本信息：需要从中区分出客户角色，并得到客户基本信息，其中包括姓名、手机号码、邮箱、地区、详细地址、性别、年龄和生日
客户意向与预算信息： 客户意向与预算信息包括咨询类型、意向产品、购买异议点、预算是否充足、总体预算金额以及预算明细
客户购买准备情况：户购买准备情况包括竞品信息、客户是否有意向、客户是否有卡点以及客户购买阶段
跟进计划信息： 跟进计划信息包括参与人、时间点和具体事项，这些信息用于指导销售团队在未来的跟进工作中与客户互动

****注意****
1.只输出客户基本信息、客户意向与预算信息、客户购买准备情况、跟进计划信息对应的信息，不要输出无关内容
2.不要输出分析内容
3.输出内容格式为md格式"""


def prompt_hash(template: str) -> str:
    """A short stable id of a prompt template, stored beside what it produced."""
    return hashlib.sha256(template.encode("utf-8")).hexdigest()[:16]


MERGE_PROMPT = """以下是同一个群聊按顺序分段后得到的多份摘要。请把它们合并成一份摘要，仍然分为客户基本信息、客户意向与预算信息、客户购买准备情况、跟进计划信息四部分，保留所有姓名、手机号码、邮箱、地址、金额和时间等具体信息，不要输出分析内容，输出内容格式为md格式。

{content}"""


CONTENT_SLOT = "{content}"
EXAMPLES_SLOT = "{examples}"
"""Where worked examples go in an extraction prompt; a prompt without it gets them just
before the input."""

_FIELD_NOTES = {
    "下一步跟进计划-参与人": "，多人写在一个字符串里，用、隔开",
}


def _field_line(spec: Field) -> str:
    kind = "字符串列表" if spec.kind == "list" else "字符串"
    known = f"，只能取：{'、'.join(spec.known)}" if spec.known else ""
    return f"- {spec.name}（{kind}{known}{_FIELD_NOTES.get(spec.name, '')}）"


_WHAT_IS_READ: dict[str, tuple[str, str]] = {
    "chat": ("下面是一个软件公司的客服与客户的群聊对话，发言人大多是客服", "群聊对话"),
    "summary": ("下面是一个软件公司的客服与客户的群聊对话的摘要，对话中的发言人大多是客服", "对话摘要"),
}


def extraction_prompt(source: InputSource = "chat") -> str:
    """The built-in prompt for a model that was never fine-tuned on this task: the 21 fields
    with their types and the known values of the closed ones (from `schema`), empty unless
    stated, JSON only, one object per customer."""
    intro, heading = _WHAT_IS_READ[source]
    fields = "\n".join(_field_line(spec) for spec in FIELDS)
    return (
        f"{intro}。请找出其中有需求的客户（不是客服），为每位客户抽取以下{len(FIELDS)}个字段：\n"
        f"{fields}\n\n"
        "要求：\n"
        "1. 对话没有明确说明的字段一律留空：字符串写\"\"，列表写[]。不要猜测，不要编造。\n"
        "2. 姓名、手机号码、邮箱、地区、详细地址照原文抄写。\n"
        "3. 给出了取值的字段只能从这些取值中选。\n"
        f"4. 只输出JSON，不要任何解释：一个JSON列表，每位客户一个对象，每个对象包含以上全部{len(FIELDS)}个字段。\n"
        f"{EXAMPLES_SLOT}\n"
        f"****{heading}****\n"
        f"{CONTENT_SLOT}"
    )


PromptOrigin = Literal["rules", "trained", "builtin", "instruction"]
"""Why a job sends the prompt it sends: the offline rules read no prompt; a fine-tuned model
gets what it was trained on; a base model gets the built-in prompt, or the user's own."""


@dataclass(frozen=True)
class InferencePrompt:
    """What an inference job sends around each record's input, and why."""

    text: str
    """The prompt; "" sends the input alone. `{content}` marks where the input goes (else it
    follows the prompt on a new line); `{examples}` where worked examples go."""
    origin: PromptOrigin
    fine_tuned: bool

    @property
    def takes_examples(self) -> bool:
        """Worked examples go to a base model only: a fine-tuned one gets what it learnt."""
        return self.origin in ("builtin", "instruction") and not self.fine_tuned


def inference_prompt(backend: Backend, instruction: str | None, source: InputSource = "summary") -> InferencePrompt:
    """The prompt an inference job sends with `backend`: the one decision, for jobs, pages and records.

    A fine-tuned model (Spark with a patch_id, an OpenAI-compatible model marked fine-tuned
    on roleext's export) gets exactly what it was trained on: its input alone, or the
    user's instruction before it (a model trained on the alpaca export saw the instruction).
    A base model gets the user's instruction, else the built-in extraction prompt.
    """
    if backend.name == "offline":  # reads no prompt; an instruction is kept, as before, in the job's settings
        return InferencePrompt(instruction or "", "rules", False)
    if instruction and instruction.strip():
        return InferencePrompt(instruction, "instruction", backend.fine_tuned)
    if backend.fine_tuned:
        return InferencePrompt("", "trained", True)
    return InferencePrompt(extraction_prompt(source), "builtin", False)


def with_examples(prompt: str, examples: str) -> str:
    """The prompt with its worked examples in place (none: the slot is removed).

    Without an `{examples}` slot they go just before the input. A `{content}` inside an
    example is defused, so the input is filled into the prompt's own slot only.
    """
    examples = examples.replace(CONTENT_SLOT, "{ content }").replace(EXAMPLES_SLOT, "{ examples }")
    if EXAMPLES_SLOT in prompt:
        return prompt.replace(EXAMPLES_SLOT, examples)
    if not examples:
        return prompt
    if CONTENT_SLOT in prompt:
        before, after = prompt.split(CONTENT_SLOT, 1)
        return f"{before}{examples}\n{CONTENT_SLOT}{after}"
    return f"{prompt}\n{examples}" if prompt else examples


def describe_prompt(prompt: InferencePrompt, few_shot: int = 0) -> str:
    """One line saying what an inference job sends, and why (the CLI prints it)."""
    what = {
        "rules": _("none (the offline rules read the chat)"),
        "trained": _("the input alone, as the fine-tuned model was trained"),
        "builtin": _("the built-in extraction prompt (the model is not fine-tuned)"),
        "instruction": (_("your instruction (before the input the fine-tuned model was trained on)")
                        if prompt.fine_tuned else _("your instruction")),
    }[prompt.origin]
    if few_shot and prompt.takes_examples:
        what += _(", with up to {n} worked examples from the train split").format(n=few_shot)
    elif few_shot:
        what += _("; --few-shot is ignored: {reason}").format(
            reason=_("the offline rules take no examples") if prompt.origin == "rules"
            else _("a fine-tuned model gets what it was trained on"))
    return what
