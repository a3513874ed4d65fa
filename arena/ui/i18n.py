"""Texts of the voter UI in English and Chinese.

Static labels go to Gradio's I18n (translated in the browser by its locale);
messages built on the server use `tr()` with the request's Accept-Language.
"""

from __future__ import annotations

import gradio as gr

EN = {
    "tab_live": "💬 Live battle",
    "live_intro": (
        "Type any prompt: two anonymous models answer at the same time. Continue the "
        "conversation if you like, then vote. Names are revealed after your vote."
    ),
    "live_placeholder": "Type your prompt and press Enter",
    "send": "Send",
    "regenerate": "🔄 Regenerate",
    "new_battle": "🆕 New battle",
    "tab_battle": "⚔️ Battle (anonymous)",
    "tab_side": "👀 Side by side (named)",
    "tab_leaderboard": "🏆 Leaderboard",
    "lb_intro": (
        "Bradley-Terry ratings from the votes, updated live, with 95% confidence intervals. "
        "**Rank (UB)** is 1 + the number of models whose interval lies wholly above this "
        "model's. Identity-leak and flagged battles are left out."
    ),
    "lb_category": "Category",
    "lb_language": "Prompt language",
    "lb_turns": "Turns",
    "lb_style": "Style control",
    "lb_anony": "Anonymous votes only",
    "lb_dedup": "Down-weight repeated prompts",
    "lb_controls": "Control for (group covariates)",
    "lb_baseline": "Baseline model (predicted win rate against it)",
    "lb_refresh": "🔄 Refresh",
    "exp_title": "How battles were sampled",
    "exp_window": "Window",
    "judge_title": "Judges beside people",
    "judge_pick": "Judge",
    "judge_board_title": "#### The judge's own board",
    "judge_beside_title": "#### Beside people's board",
    "copilot_ask": "🧑‍⚖️ Ask the judge",
    "tab_about": "ℹ️ About",
    "title": "## ⚔️ Arena: which answer is better?",
    "battle_intro": (
        "Two anonymous models answered the same prompt. Read both answers and vote. "
        "The model names are revealed only after your vote."
    ),
    "side_intro": (
        "Pick two models, draw a prompt both answered, and compare them by name. Once you "
        "have seen a model's answer to a prompt by name, your later anonymous votes on that "
        "prompt and model do not count on the leaderboard."
    ),
    "model_a": "Model A",
    "model_b": "Model B",
    "pick_a": "Model A (left)",
    "pick_b": "Model B (right)",
    "vote_a": "👈 A is better",
    "vote_b": "👉 B is better",
    "vote_tie": "🤝 Tie",
    "vote_bothbad": "👎 Both are bad",
    "next_battle": "🎲 Next battle",
    "draw_prompt": "🎲 Draw a prompt",
    "refresh": "🔄 Refresh",
    "leaderboard_intro": (
        "Votes and win rates per model (a tie counts half). "
        "Only votes on anonymous battles count here."
    ),
}

ZH = {
    "tab_live": "💬 实时对战",
    "live_intro": (
        "输入任意问题，两个匿名模型同时回答。可以继续多轮对话，然后投票；"
        "投票后揭晓模型名称。"
    ),
    "live_placeholder": "输入问题，按回车发送",
    "send": "发送",
    "regenerate": "🔄 重新生成",
    "new_battle": "🆕 新对战",
    "tab_battle": "⚔️ 匿名对战",
    "tab_side": "👀 并排对比（实名）",
    "tab_leaderboard": "🏆 排行榜",
    "lb_intro": (
        "根据投票实时计算的 Bradley-Terry 评分，附 95% 置信区间。**排名（上界）** 为 1 加上"
        "置信区间完全高于该模型的模型数。泄露身份和被标记的对战不计入。"
    ),
    "lb_category": "类别",
    "lb_language": "提示语言",
    "lb_turns": "轮次",
    "lb_style": "风格控制",
    "lb_anony": "仅匿名投票",
    "lb_dedup": "降低重复提示的权重",
    "lb_controls": "控制变量（分组协变量）",
    "lb_baseline": "基准模型（预测对其胜率）",
    "lb_refresh": "🔄 刷新",
    "exp_title": "对战抽样情况",
    "exp_window": "时间范围",
    "judge_title": "评审模型与人工投票对比",
    "judge_pick": "评审模型",
    "judge_board_title": "#### 评审模型自己的榜单",
    "judge_beside_title": "#### 与人工投票榜单对比",
    "copilot_ask": "🧑‍⚖️ 听听评审模型的看法",
    "tab_about": "ℹ️ 说明",
    "title": "## ⚔️ 模型竞技场：哪个回答更好？",
    "battle_intro": (
        "两个匿名模型回答了同一个问题。请阅读两个回答后投票，"
        "投票之后才会揭晓模型名称。"
    ),
    "side_intro": (
        "选择两个模型，抽取一个它们都回答过的问题，实名对比。实名看过某个模型对某个问题的回答后，"
        "你之后在匿名对战中对该问题和该模型的投票不计入排行榜。"
    ),
    "model_a": "模型 A",
    "model_b": "模型 B",
    "pick_a": "模型 A（左）",
    "pick_b": "模型 B（右）",
    "vote_a": "👈 A 更好",
    "vote_b": "👉 B 更好",
    "vote_tie": "🤝 平局",
    "vote_bothbad": "👎 都不好",
    "next_battle": "🎲 下一场",
    "draw_prompt": "🎲 抽取问题",
    "refresh": "🔄 刷新",
    "leaderboard_intro": "各模型的票数与胜率（平局计半胜）。这里只统计匿名对战的投票。",
}

I18N = gr.I18n(en=EN, zh=ZH, **{"zh-CN": ZH, "zh-TW": ZH})

MESSAGES = {
    "en": {
        "revealed": (
            "**Model A** was **{a}** · **Model B** was **{b}** — you voted: {vote}. Thanks!"
        ),
        "vote_failed": "⚠️ Your vote was not recorded: {error}",
        "no_battle": "⚠️ No battle could be drawn: {error}",
        "no_current": "no battle on screen; press Next battle",
        "page_lost": ("this page lost its battle (the server may have restarted); "
                      "please reload the page"),
        "connection_lost": ("⚠️ The connection to the arena server was lost. "
                            "Please reload the page (click here) to go on."),
        "pick_two": "pick two models first",
        "named_unavailable": "Named comparisons are not open in this arena.",
        "voted_hint": "Press Next battle for a new pair.",
        "live_failed": (
            "⚠️ One answer could not be completed, so this battle cannot be voted. "
            "Press New battle to try again."
        ),
        "answer_failed": "⚠️ This answer could not be completed: {reason}.",
        "lb_summary": "**{votes}** votes in this view · **{models}** models · last vote {when}",
        "lb_unfitted": "The ratings cannot be fitted yet: {error}",
        "lb_hidden": "{hidden} model(s) with fewer than {min_votes} votes are not shown.",
        "lb_disconnected": ("The comparison graph is not connected ({groups}): ratings in "
                            "different groups are not comparable."),
        "lb_style_on": "**Style control on**: ratings hold answer length and markdown fixed.",
        "lb_controls_on": ("**Controlled for {controls}**: a group's odds ratio is the odds "
                           "that the answer shown first wins in that group, beyond both "
                           "ratings (1.0: no side favoured)."),
        "lb_coef_head": "| Covariate | Coefficient | 95% CI | Odds ratio (95% CI) |",
        "lb_bootstrap": ("Bootstrap 95% intervals: {rounds} rounds over {votes} votes, "
                         "computed {minutes} min ago (recomputed in the background)."),
        "lb_method": ("Bradley-Terry ratings on the Elo scale with FastChat's C=1 prior, "
                      "sandwich 95% intervals. Left out: flagged battles, identity leaks, "
                      "too-fast votes, the votes of flagged voters and votes on answers the "
                      "voter had seen named."),
        "copilot_head": ("**The judge's comparison** (a language model that was not told "
                         "which models wrote the answers):"),
        "copilot_after_vote": "The judge's comparison opens after your vote.",
        "copilot_failed": "⚠️ The judge could not answer: {error}.",
        "judge_board_summary": ("**{votes}** verdicts of **{judge}** · **{models}** models, "
                                "rated on its verdicts alone (people's votes do not count "
                                "here)."),
        "judge_board_empty": ("**{judge}** has no verdicts yet "
                              "(`arena judge run --judge {judge}`)."),
        "exp_summary": ("**{battles}** anonymous battles shown and **{votes}** votes {window}. "
                        "Each model's share of appearances (two per battle) next to the share "
                        "the pair policy ({policies}) intended, over the {with_intent} battles "
                        "drawn under a recorded policy."),
    },
    "zh": {
        "revealed": (
            "**模型 A** 是 **{a}** · **模型 B** 是 **{b}** —— 你的投票：{vote}。谢谢！"
        ),
        "vote_failed": "⚠️ 投票未记录：{error}",
        "no_battle": "⚠️ 无法开始对战：{error}",
        "no_current": "当前没有对战，请点击“下一场”",
        "page_lost": "本页面已丢失当前对战（服务器可能已重启），请刷新页面",
        "connection_lost": "⚠️ 与竞技场服务器的连接已中断。请刷新页面（点击此处）后继续。",
        "pick_two": "请先选择两个模型",
        "named_unavailable": "本竞技场暂未开放具名对比。",
        "voted_hint": "点击“下一场”开始新的对战。",
        "live_failed": "⚠️ 有一个回答未能完成，本场对战无法投票。请点击“新对战”重试。",
        "answer_failed": "⚠️ 该回答未能完成：{reason}。",
        "lb_summary": "当前视图共 **{votes}** 票 · **{models}** 个模型 · 最近一次投票 {when}",
        "lb_unfitted": "暂时无法计算评分：{error}",
        "lb_hidden": "{hidden} 个投票数少于 {min_votes} 的模型未显示。",
        "lb_disconnected": "比较图不连通（{groups}）：不同组之间的评分不可比较。",
        "lb_style_on": "**已开启风格控制**：评分时固定回答长度与 Markdown 格式的影响。",
        "lb_controls_on": ("**已控制 {controls}**：某组的优势比是该组中先展示的回答获胜的几率"
                           "（已扣除双方评分的影响；1.0 表示不偏向任何一侧）。"),
        "lb_coef_head": "| 协变量 | 系数 | 95% 置信区间 | 优势比（95% 置信区间） |",
        "lb_bootstrap": ("自助法 95% 置信区间：基于 {votes} 票的 {rounds} 轮重抽样，"
                         "{minutes} 分钟前计算（在后台定期更新）。"),
        "lb_method": ("评分为 Elo 尺度的 Bradley-Terry 模型（采用 FastChat 的 C=1 先验），"
                      "区间为三明治估计的 95% 置信区间。不计入：被标记的对战、泄露身份的回答、"
                      "过快的投票、被标记投票者的投票，以及投票者此前已在具名对比中见过的回答的投票。"),
        "copilot_head": "**评审模型的比较**（它并不知道两个回答分别出自哪个模型）：",
        "copilot_after_vote": "投票之后即可查看评审模型的比较。",
        "copilot_failed": "⚠️ 评审模型未能给出回答：{error}。",
        "judge_board_summary": ("**{judge}** 共 **{votes}** 条裁决 · **{models}** 个模型，"
                                "评分只来自它的裁决（不含人工投票）。"),
        "judge_board_empty": "**{judge}** 还没有裁决（`arena judge run --judge {judge}`）。",
        "exp_summary": ("{window}共展示 **{battles}** 场匿名对战，收到 **{votes}** 票。"
                        "下表列出每个模型的出场占比（每场两个模型），以及抽样策略（{policies}）"
                        "在其中 {with_intent} 场有记录的对战中预期的占比。"),
    },
}

JUDGE_BOARD_COLUMNS = {
    "en": ["Rank (UB)", "Model", "Rating", "95% CI", "Battles"],
    "zh": ["排名（上界）", "模型", "评分", "95% 置信区间", "对战数"],
}

JUDGE_AGREEMENT_LABELS = {  # arena.services.agreement.JudgeAgreement, row by row
    "en": {
        "models": "Models on both boards",
        "spearman": "Spearman rank correlation",
        "kendall": "Kendall tau-b",
        "human_separability": "Separability, people's board",
        "judge_separability": "Separability, judge's board",
        "battles": "Battles judged by both",
        "agreement": "Agreement, ties as a verdict",
        "agreement_without_ties": "Agreement without ties ({decided} battles)",
        "verdicts": "Judge verdicts / unreadable",
        "position_bias": "Position bias ({both_orders} items in both orders)",
    },
    "zh": {
        "models": "两个榜单共有的模型",
        "spearman": "Spearman 等级相关系数",
        "kendall": "Kendall tau-b 相关系数",
        "human_separability": "区分度（人工投票榜单）",
        "judge_separability": "区分度（评审模型榜单）",
        "battles": "人和评审模型都评判过的对战",
        "agreement": "一致率（平局算作一种裁决）",
        "agreement_without_ties": "一致率（不含平局，{decided} 场）",
        "verdicts": "评审裁决 / 无法解析",
        "position_bias": "位置偏差（{both_orders} 个题目两种顺序都评过）",
    },
}

VOTE_NAMES = {
    "en": {"model_a": "A is better", "model_b": "B is better", "tie": "Tie",
           "tie (bothbad)": "Both are bad"},
    "zh": {"model_a": "A 更好", "model_b": "B 更好", "tie": "平局", "tie (bothbad)": "都不好"},
}


FAILURE_REASONS = {
    "en": {
        "timeout_first_token": "the model did not start answering in time",
        "stream_stalled": "the answer stopped midway",
        "connection_failed": "the model could not be reached",
        "rate_limited": "the model is busy",
        "upstream_server_error": "the model's service had an error",
        "upstream_request_error": "the model's service refused the request",
        "malformed_stream": "the answer arrived garbled",
        "empty_answer": "the model returned an empty answer",
    },
    "zh": {
        "timeout_first_token": "模型未能及时开始回答",
        "stream_stalled": "回答中途停止",
        "connection_failed": "无法连接到模型",
        "rate_limited": "模型繁忙",
        "upstream_server_error": "模型服务出错",
        "upstream_request_error": "模型服务拒绝了请求",
        "malformed_stream": "回答数据无法解析",
        "empty_answer": "模型返回了空回答",
    },
}


def failure_text(kind: str | None, ui_language: str | None) -> str:
    """The voter-safe note under a failed answer (the kind only, no provider details)."""
    if not kind:
        return ""
    lang = lang_of(ui_language)
    reason = FAILURE_REASONS[lang].get(kind, "error" if lang == "en" else "出错")
    return "\n\n---\n" + MESSAGES[lang]["answer_failed"].format(reason=reason)


def lang_of(ui_language: str | None) -> str:
    return "zh" if (ui_language or "").lower().startswith("zh") else "en"


def tr(key: str, ui_language: str | None, **values: str) -> str:
    return MESSAGES[lang_of(ui_language)][key].format(**values)
