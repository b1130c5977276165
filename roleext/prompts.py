"""The recipe's default prompts (CONTEXT.md); the user may edit both in the app or CLI."""

from __future__ import annotations

import hashlib

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
