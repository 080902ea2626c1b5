"""A small questionnaire with a block of three pages shown in an order of each response's
own (``blocks:``), a page before it and a page after it that reads the block's answers;
shared by the models and web tests."""
import textwrap

BLOCK_YAML = textwrap.dedent("""\
    id: block-demo
    version: 1
    default_language: en
    languages: [en, zh-CN]
    title: {en: Brands, zh-CN: 品牌}
    scales:
      ten: {min: 1, max: 10}
    pages:
      - id: start
        questions:
          - {id: visits, type: number, integer: true, min: 0, max: 99, text: {en: Visits this year, zh-CN: 今年的访问次数}}
      - id: brand_a
        questions:
          - {id: rate_a, type: rating, scale: ten, text: {en: Rate brand A, zh-CN: 给品牌A评分}}
      - id: brand_b
        show_if: "visits > 0"
        questions:
          - {id: rate_b, type: rating, scale: ten, text: {en: "Rate brand B ({visits} visits)", zh-CN: "给品牌B评分（{visits}次）"}}
      - id: brand_c
        questions:
          - {id: rate_c, type: rating, scale: ten, text: {en: Rate brand C, zh-CN: 给品牌C评分}}
      - id: close
        show_if: "rate_a <= 5 or rate_c <= 5"
        questions:
          - {id: why, type: text, required: false, text: {en: "You gave A {rate_a}: why?", zh-CN: "您给A打了{rate_a}分：为什么？"}}
    blocks:
      - {id: brands, pages: [brand_a, brand_b, brand_c]}
""")
