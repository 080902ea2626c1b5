"""A small questionnaire with hidden fields and piping, shared by the models and web tests."""
import textwrap

HIDDEN_YAML = textwrap.dedent("""\
    id: hidden-demo
    version: 1
    default_language: en
    languages: [en, zh-CN]
    title: {en: Store visit, zh-CN: 门店访问}
    privacy_notice: {en: We keep your answers private., zh-CN: 我们为您的答案保密。}
    hidden:
      - {id: store, pattern: "S[0-9]{1,4}", segment: true}
      - {id: channel, values: [app, web]}
      - {id: agent, pattern: "[a-z]{2,20}", signed: true}
      - {id: note, pattern: ".{1,200}"}
    scales:
      ten:
        min: 1
        max: 10
        dont_know: {code: 99, label: {en: Don't know, zh-CN: 不知道}}
    pages:
      - id: p1
        questions:
          - id: overall
            type: rating
            scale: ten
            text: {en: "How was your visit to store {hidden.store|our store}?", zh-CN: "您对门店{hidden.store|我们的门店}的访问满意吗？"}
            help: {en: "Note: {hidden.note}", zh-CN: "备注：{hidden.note}"}
          - id: fruit
            type: single_choice
            text: {en: "Favourite fruit?", zh-CN: 最喜欢的水果？}
            options:
              - {value: a, label: {en: Apples, zh-CN: 苹果}}
              - {value: b, label: {en: Bananas, zh-CN: 香蕉}}
      - id: p2
        questions:
          - id: why
            type: text
            required: false
            text: {en: "You gave {overall} and like {fruit}. Why?", zh-CN: "您打了{overall}分，喜欢{fruit}。为什么？"}
          - id: app_only
            type: single_choice
            show_if: "hidden.channel == 'app'"
            text: {en: "Was the {hidden.channel} easy to use?", zh-CN: "{hidden.channel}好用吗？"}
            options:
              - {value: 1, label: {en: "Yes, {fruit} and all", zh-CN: "是，{fruit}也是"}}
              - {value: 0, label: {en: "No", zh-CN: "否"}}
    follow_up:
      - {id: low_app, when: "overall <= 3 and hidden.channel == 'app'"}
    """)
