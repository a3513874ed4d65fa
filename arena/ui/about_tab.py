"""Rules for voters, in both languages."""

import gradio as gr

ABOUT = """
### How the arena works
1. You see one prompt and two answers from **anonymous** models, *Model A* and *Model B*.
   Which model sits left or right is drawn at random.
2. Vote **A is better**, **B is better**, **Tie**, or **Both are bad**. Judge the whole
   answer: correctness, helpfulness, clarity. Length alone is not quality.
3. Only after your vote are the two model names revealed. One vote per battle; press
   **Next battle** for another pair.
4. Votes on anonymous battles build the leaderboard. Side-by-side votes, where you
   chose the models by name, are stored apart (`anony = false`).
5. **Named comparisons exclude later anonymous votes.** Answers are prepared in advance,
   so once you have seen a model's answer to a prompt by name (side by side, or the
   reveal after your vote), you would recognise it. Your later anonymous votes on that
   prompt with that model are kept, but left out of the leaderboard.

**Privacy**: the arena keeps a random id for your browser (a cookie) and a salted hash
of your IP address, never the address itself. Prompts and votes may be published as
a dataset by the owner of this arena.

---

### 竞技场规则
1. 你会看到一个问题和两个**匿名**模型（模型 A、模型 B）的回答，左右位置随机。
2. 投票：**A 更好**、**B 更好**、**平局**或**都不好**。请综合正确性、实用性与清晰度判断，
   而不是只看长度。
3. 投票之后才会揭晓两个模型的名称。每场对战只能投一票；点击**下一场**继续。
4. 匿名对战的投票用于排行榜；并排对比（实名）模式的投票单独记录（`anony = false`）。
5. **实名对比会排除之后的匿名投票。** 回答是预先生成的，一旦你实名看过某个模型对某个问题的回答
   （并排对比，或投票后的揭晓），之后就能认出它。你之后在匿名对战中对该问题和该模型的投票会被保存，
   但不计入排行榜。

**隐私**：本站只保存浏览器的随机标识（cookie）和加盐哈希后的 IP，不保存 IP 本身。
竞技场的所有者可能会把问题和投票作为数据集发布。
"""


def render() -> None:
    gr.Markdown(ABOUT, elem_id="about-text")
