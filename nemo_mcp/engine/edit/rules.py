"""The rule table of the English grammar: a regex per phrasing, the builder that reads it.

Order is priority: an earlier rule's match claims its words, so a later rule cannot read them
again. The builders and the helpers they share live in :mod:`~nemo_mcp.engine.edit.grammar`.
"""

from __future__ import annotations

from nemo_mcp.engine.edit.grammar import (
    COUNT,
    Rule,
    build_about,
    build_captions,
    build_captions_off,
    build_chapters,
    build_cut_range,
    build_describe,
    build_end_at,
    build_export,
    build_fades,
    build_fillers,
    build_first,
    build_help,
    build_highlight,
    build_intro,
    build_keep,
    build_last,
    build_length,
    build_loudnorm,
    build_music,
    build_music_off,
    build_music_volume,
    build_mute,
    build_platform,
    build_rename_chapter,
    build_said,
    build_segments,
    build_segments_bare,
    build_set_chapters,
    build_silences,
    build_start_at,
    build_summary,
    build_text,
    build_title_card,
    build_undo,
    refuse,
    rx,
)

__all__ = ["RULES"]

_VERB_CUT = r"(?:cut|remove|delete|drop|skip|trim|chop|strip|get\s+rid\s+of|eliminate|take\s+out|lose)"
_TO = r"(?:-|–|—|to|until|till|through|and)"
_TALK = (
    r"(?:(?:talk|talked|speak|spoke|go\s+on|went\s+on)\s+about|discuss(?:ed)?|explain(?:ed)?|"
    r"mention(?:ed)?|cover(?:ed)?)\s+"
)

# The table. Order is priority: an earlier rule's match claims its words, so a later rule
# cannot read them again ("add chapter titles" is chapters, not a text overlay).
RULES: tuple[Rule, ...] = (
    # The assistant's own chapters come first: their titles are content, whatever words they hold.
    Rule(
        "set_chapters",
        rx(
            r"\b(?:set|make|change|replace|use|mark|put|give\s+(?:it|the\s+video))\s+(?:the\s+|these\s+|my\s+)?"
            r"(?:youtube\s+|video\s+)?chapters?(?:\s+(?:list|markers?))?\s*(?:(?:to|as|with|at)\b\s*)?:?\s*"
            r"(?=\(?\d{1,2}(?::\d{2}){1,2}\b)|^\s*chapters?\s*:\s*(?=\(?\d{1,2}(?::\d{2}){1,2}\b)"
        ),
        build_set_chapters,
    ),
    Rule(
        "rename_chapter",
        rx(
            r"\b(?:rename|retitle|call|name|(?:change|set)\s+the\s+(?:title|name)\s+of)\s+(?:the\s+)?"
            r"(?:(?P<ord>first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last)\s+chapter|"
            r"chapter\s+(?:(?:number|no\.?)\s*)?(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten))"
            r"(?:'s\s+title)?\s+(?:to|as|:)?\s*:?\s*"
        ),
        build_rename_chapter,
    ),
    # Things we will not pretend to do.
    Rule(
        "refuse_clicks",
        rx(
            r"\b(?:highlight(?:ing|s)?|circle|emphasi[sz]e|show)\s+(?:the\s+|all\s+|mouse\s+)*"
            r"(?:clicks?|cursor|mouse(?:\s+(?:clicks?|pointer|movements?))?|pointer)\b|"
            r"\bclick\s+(?:highlights?|effects?|animations?)\b|\bzoom\s+(?:in\s+)?on\s+(?:clicks?|the\s+cursor)\b"
        ),
        refuse(
            "highlighting clicks needs the click and cursor positions of the recording, and a plain video "
            "file does not carry them"
        ),
    ),
    Rule(
        "refuse_background",
        rx(
            r"\b(?:remove|replace|blur|change|swap|erase|delete)\s+(?:the\s+|my\s+)?background\b"
            r"(?!\s+(?:music|noise|audio|sound|track|song))|\bgreen\s*screen\b|\bchroma[\s-]?key\w*"
        ),
        refuse(
            "separating a person from the background needs a segmentation model, which the offline engine "
            "does not have"
        ),
    ),
    Rule(
        "refuse_translate",
        rx(r"\b(?:translat\w*|dub(?:bing|bed)?)\b(?:\s+(?:it|this|the\s+\w+))?(?:\s+(?:in)?to\s+\w+)?"),
        refuse(
            "translation needs a language model or an online service; upload a translated .srt or .vtt "
            'file and say "add captions" instead'
        ),
    ),
    Rule(
        "refuse_voice",
        rx(r"\b(?:add\s+(?:an?\s+)?)?(?:voice[\s-]?over|narration|text[\s-]to[\s-]speech|tts|ai\s+voice)\b"),
        refuse(
            "a voice-over needs speech synthesis, which the offline engine does not have; record one, "
            "upload it, and ask for it as background music at 100%"
        ),
    ),
    Rule(
        "refuse_noise",
        rx(
            r"\b(?:remove|reduce|clean\s+up|cut|filter\s+out)\s+(?:the\s+)?(?:background\s+)?"
            r"(?:noise|hiss|hum|echo)\b|\bdenois\w*"
        ),
        refuse("noise reduction is not part of the offline engine yet"),
    ),
    Rule(
        "fillers",
        rx(
            r"\b(?:remove|cut|delete|drop)\s+(?:out\s+)?(?:the\s+|all\s+)?(?:filler\s+words?|ums?\b(?:\s+and\s+uhs?)?|uhs?\b)"
        ),
        build_fillers,
    ),
    Rule(
        "said",
        rx(
            r"\b"
            + _VERB_CUT
            + r"\s+(?:out\s+)?(?:the\s+)?(?:part|bit|section|moment|place|sentence|words?)\s+"
            r"(?:where|when|in\s+which)\s+I\s+(?:say|said|mention|mentioned)\b"
        ),
        build_said,
    ),
    # A topic rather than the words: the sentence most about it goes ("drop the part about
    # quantization", "delete where I talk about the exam"). After "said", which wants a quote.
    Rule(
        "about",
        rx(
            r"\b" + _VERB_CUT + r"\s+(?:out\s+)?(?:(?:the\s+|that\s+|this\s+)?"
            r"(?:sentence|part|bit|section|passage|line|moment|paragraph)\s+(?:about|on|regarding|concerning|"
            r"mentioning|that\s+(?:is\s+about|talks\s+about|mentions))\s+|"
            r"(?:(?:the\s+|that\s+|this\s+)?(?:sentence|part|bit|section|passage|line|moment|paragraph)\s+)?"
            r"(?:where|when|in\s+which)\s+I\s+" + _TALK + r")"
        ),
        build_about,
    ),
    Rule(
        "refuse_visual",
        rx(
            r"\b(?:colou?r[\s-]?(?:grade|grading|correct\w*)|stabili[sz]\w*|slow[\s-]?mo\w*|"
            r"speed\s+(?:it\s+|this\s+|the\s+\w+\s+)?up(?:\s+\d+(?:\.\d+)?x)?|slow\s+(?:it\s+|this\s+)?down|"
            r"blur(?:\s+(?:the\s+)?faces?)?|(?:add\s+(?:an?\s+|some\s+)?)?(?:transitions?|stickers?|emojis?)"
            r"(?:\s+between\s+(?:the\s+)?(?:clips|cuts|scenes|segments|shots))?|"
            r"(?:generate|create)\s+(?:an?\s+)?(?:ai\s+)?(?:image|avatar|animation|b-roll))\b"
        ),
        refuse("that visual effect is not part of the offline engine"),
    ),
    Rule(
        "undo",
        rx(
            r"\b(?:undo|revert|roll\s*back)\b(?:\s+(?:the\s+|my\s+|that\s+)?(?:last\s+|previous\s+|latest\s+)?"
            r"(?:edit|change|step|operation|action|one|that))?|\bgo\s+back\s+to\s+the\s+previous\s+version\b"
        ),
        build_undo,
    ),
    Rule(
        "segments",
        rx(
            r"\b(?:break|split|cut|divide|chop|chunk|separate|turn|slice)\s+(?:up\s+)?(?:this|the|my|it|them)?\s*"
            r"(?:(?:lecture|video|recording|talk|lesson|course|tutorial|clip|webinar|presentation|footage)\s+)?"
            r"(?:up\s+)?(?:into|in)\s+(?:(?:short|shorter|small|smaller|bite[\s-]sized|equal)\s+)*"
            r"(?:(?P<lo>\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(?P<hi>\d+(?:\.\d+)?)[\s-]*(?P<unit>minutes?|mins?|seconds?|secs?)"
            r"|(?P<len>(?:\d+(?:\.\d+)?|a|one|two|three|four|five|ten)[\s-]*(?:minutes?|mins?|seconds?|secs?))"
            r"|(?P<count>"
            + COUNT
            + r"))?[\s-]*(?:long\s+)?(?:(?:short|learning|lesson|study|teaching|bite[\s-]sized)\s+)*"
            r"(?:segments?|parts?|chunks?|sections?|pieces?|lessons?|modules?|episodes?|clips?)\b"
        ),
        build_segments,
    ),
    Rule(
        "segments_bare",
        rx(
            r"(?:(?P<lo>\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(?P<hi>\d+(?:\.\d+)?)[\s-]*(?P<unit>minutes?|mins?|seconds?|secs?)"
            r"|(?P<len>(?:\d+(?:\.\d+)?|a|one|two|three|four|five|ten)[\s-]*(?:minutes?|mins?|seconds?|secs?))"
            r")[\s-]*(?:long\s+)?(?:(?:short|learning|lesson|study)\s+)*"
            r"(?:segments|chunks|lessons|modules|parts)\b"
        ),
        build_segments_bare,
    ),
    Rule(
        "keep",
        rx(
            r"\b(?:keep|use|only\s+keep|trim\s+(?:it\s+|this\s+|the\s+(?:video|clip)\s+)?(?:down\s+)?to|crop\s+to|"
            r"cut\s+(?:it\s+|this\s+|the\s+(?:video|clip)\s+)?(?:down\s+)?to)\s+(?:only\s+)?(?:the\s+part\s+)?"
            r"(?:from\s+|between\s+)?(?P<a>{T})\s*" + _TO + r"\s*(?P<b>{T})"
        ),
        build_keep,
    ),
    Rule(
        "cut_range",
        rx(
            r"\b" + _VERB_CUT + r"\s+(?:out\s+)?(?:everything\s+|anything\s+|all\s+)?(?:the\s+)?"
            r"(?:part|section|bit|portion|segment|stretch)?\s*"
            r"(?:from\s+|between\s+)?(?P<a>{T})\s*" + _TO + r"\s*(?P<b>{T})"
        ),
        build_cut_range,
    ),
    Rule(
        "intro",
        rx(
            r"\b" + _VERB_CUT + r"\s+(?:off\s+|out\s+)?(?:the\s+|my\s+)?(?:boring\s+|long\s+|slow\s+)?"
            r"(?P<which>intro(?:duction)?|outro|ending)\b"
            r"(?:\s*\(?\s*(?:the\s+)?(?:first|last)?\s*(?P<d>{T})\s*\)?)?"
        ),
        build_intro,
    ),
    Rule(
        "first",
        rx(r"\b" + _VERB_CUT + r"\s+(?:off\s+|out\s+)?(?:the\s+)?(?:first|opening|initial)\s+(?P<d>{T})"),
        build_first,
    ),
    Rule(
        "last",
        rx(r"\b" + _VERB_CUT + r"\s+(?:off\s+|out\s+)?(?:the\s+)?(?:last|final|closing)\s+(?P<d>{T})"),
        build_last,
    ),
    Rule(
        "length",
        rx(
            r"\b(?:trim|cut|shorten|crop)\s+(?:it\s+|this\s+|the\s+(?:video|clip)\s+)?(?:down\s+)?to\s+(?:the\s+first\s+)?"
            r"(?P<d>{T})(?:\s+long)?|\bmake\s+(?:it|this|the\s+(?:video|clip))\s+(?P<d2>{T})\s+long"
        ),
        build_length,
    ),
    Rule(
        "start_at",
        rx(r"\b(?:start|begin)\s+(?:the\s+video\s+|it\s+|the\s+clip\s+)?(?:at|from)\s+(?P<d>{T})"),
        build_start_at,
    ),
    Rule(
        "end_at",
        rx(r"\b(?:end|stop|finish)\s+(?:the\s+video\s+|it\s+|the\s+clip\s+)?(?:at|after)\s+(?P<d>{T})"),
        build_end_at,
    ),
    Rule(
        "silences",
        rx(
            r"\b(?:"
            + _VERB_CUT
            + r"|tighten|jump[\s-]?cut)\s+(?:out\s+|up\s+)?(?:all\s+)?(?:of\s+)?(?:the\s+)?"
            r"(?:long\s+|awkward\s+|dead\s+|silent\s+|quiet\s+|empty\s+)*"
            r"(?:silen(?:ces?|t\s+(?:parts?|bits?|gaps?|sections?|moments?|stretches?))|pauses?|"
            r"dead\s+air|gaps?|quiet\s+(?:parts?|bits?))\b|\bjump[\s-]?cuts?\b"
        ),
        build_silences,
    ),
    Rule(
        "highlight",
        rx(
            r"(?:\b(?:as|into|to)\s+)?(?:\b(?:an?|the)\s+)?(?:(?P<d>{T})[\s-]*(?:long\s+)?)?"
            r"\b(?:highlights?(?:\s+(?:reel|video|clip|cut|montage|version))?|best[\s-]of|"
            r"best\s+(?:parts|moments|bits)|supercut|teaser|trailer|sizzle\s+reel)\b"
            r"(?:\s+(?:of|lasting|that\s+is|that's)\s+(?P<d2>{T})(?:\s+long)?)?"
        ),
        build_highlight,
    ),
    Rule(
        "chapters",
        rx(
            r"\b(?:(?:generate|create|make|add|detect|find|give\s+me|write|insert|build|mark|show|put|include)\s+)?"
            r"(?:(?P<count>" + COUNT + r")\s+)?(?:the\s+|some\s+|youtube\s+|video\s+)*"
            r"(?:(?P<onscreen>chapter\s+(?:titles?|headings?|cards?|names?|labels?)(?:\s+on[\s-]screen)?)|"
            r"chapters?(?:\s+(?:list|markers?|list))?|timestamps)\b"
            r"(?:\s+(?:with|and|including)\s+(?:the\s+)?(?:timestamps|titles|names)"
            r"(?:\s+and\s+(?:timestamps|titles|names))?)?"
            r"(?:\s+(?:for|to)\s+(?:my\s+|the\s+|this\s+)?(?:youtube\s+)?(?:video|description|youtube))?"
        ),
        build_chapters,
    ),
    Rule(
        "captions_off",
        rx(
            r"\b(?:remove|delete|drop|turn\s+off|disable|hide)\s+(?:the\s+|all\s+)?(?:captions?|subtitles?|subs)\b"
        ),
        build_captions_off,
    ),
    Rule(
        "captions",
        rx(
            r"\b(?:(?:add|burn(?:\s+in)?|generate|create|include|put|show|turn\s+on|enable|make)\s+)?"
            r"(?:some\s+|the\s+)?(?:closed\s+|open\s+|hard[\s-]*coded\s+|auto(?:matic)?[\s-]*|english\s+)?"
            r"(?:captions?|subtitles?|subs)\b"
            r"(?:\s+(?:to|on)\s+(?:it|this|the\s+video))?|\bcaption\s+(?:it|this|the\s+video)\b|"
            r"\btranscri(?:be|ption)\b(?:\s+(?:it|this|the\s+video))?"
        ),
        build_captions,
    ),
    Rule(
        "title_card",
        rx(
            r"\b(?:add|insert|put|create|make|include|start\s+with|open\s+with|begin\s+with)\s+"
            r"(?:an?\s+|the\s+)?(?:opening\s+|intro\s+)?(?:title|intro)\s+(?:card|slide|screen)"
            r"(?:\s+at\s+the\s+(?:start|beginning))?"
        ),
        build_title_card,
    ),
    Rule(
        "summary",
        rx(
            r"\b(?:(?:add|insert|put|create|make|include|end\s+with|finish\s+with|close\s+with)\s+)?"
            r"(?:an?\s+|the\s+)?(?:closing\s+|final\s+)?(?:summary|recap|closing|end(?:ing)?|outro)\s+"
            r"(?:slide|card|screen)(?:\s+at\s+the\s+end(?:\s+of\s+the\s+video)?)?"
        ),
        build_summary,
    ),
    Rule(
        "text",
        rx(
            r"\b(?:add|put|insert|place|show|overlay|display|write|include)\s+(?:an?\s+|the\s+|some\s+)?"
            r"(?:on[\s-]screen\s+)?(?P<kind>title(?!\s+(?:card|slide|screen))|heading|headline|text(?:\s+overlay)?|"
            r"overlay|label|lower[\s-]third|banner|watermark|caption(?=\s*[\"“‘']))"
        ),
        build_text,
    ),
    Rule(
        "music_off",
        rx(
            r"\b(?:remove|delete|drop|mute|turn\s+off|stop)\s+(?:the\s+)?(?:background\s+)?(?:music|bgm|soundtrack)\b"
        ),
        build_music_off,
    ),
    Rule(
        "music_volume",
        rx(
            r"\b(?:set|lower|raise|turn\s+(?:down|up)|change|put|make)\s+(?:the\s+)?(?:background\s+)?"
            r"(?:music|bgm)(?:'s)?(?:\s+volume)?\s+(?:to|at)\s+(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
        ),
        build_music_volume,
    ),
    Rule(
        "mute",
        rx(
            r"\b(?:mute|silence|remove|drop|turn\s+off)\s+(?:the\s+)?(?:original|video's|source|clip's|camera)\s+"
            r"(?:audio|sound)\b|\b(?:original|source)\s+(?:audio|sound)\s+(?:volume\s+)?(?:to|at)\s+"
            r"(?P<v>\d{1,3}(?:\.\d+)?)\s*(?:%|percent\b)"
        ),
        build_mute,
    ),
    Rule(
        "music",
        rx(
            r"\b(?:(?:add|put|use|include|play|lay|set|put\s+in)\s+)?"
            r"(?:[\w\-.]+\.(?:mp3|wav|m4a|aac|ogg|flac)\s+(?:as|for)\s+(?:the\s+)?)?(?:some\s+|a\s+|the\s+|an?\s+)?"
            r"(?:(?:quiet|soft|low|subtle|chill|upbeat)\s+)?(?:background\s+(?:music|track|audio|song|tune)|bgm|"
            r"music(?:\s+track)?|soundtrack)\b"
        ),
        build_music,
    ),
    Rule(
        "platform",
        rx(
            r"\b(?:(?:format|reformat|resize|crop|convert|optimi[sz]e|prepare|adapt|make|turn)\s+"
            r"(?:it\s+|this\s+|the\s+video\s+)?)?"
            r"(?:for|to|as|into|in)\s+(?:an?\s+)?(?P<p>youtube\s+shorts?|shorts?|tik\s*tok|instagram\s+reels?|reels?|"
            r"instagram\s+(?:stor(?:y|ies)|post|feed)|youtube|instagram)\b(?:\s+(?:format|size|aspect(?:\s+ratio)?))?|"
            r"\b(?P<p2>vertical|portrait|landscape|horizontal|widescreen|square|9:16|16:9|1:1)\b"
            r"(?:\s+(?:format|video|aspect(?:\s+ratio)?|crop|version))?"
        ),
        build_platform,
    ),
    Rule(
        "fades",
        rx(
            r"\b(?:add\s+(?:a\s+)?)?fade[sd]?(?:[\s-]+(?P<dir>in\s+and\s+(?:fade\s+)?out|in\s*(?:/|&)\s*out|in|out|both))?\b"
            r"(?:\s+(?:at\s+the\s+(?:start|beginning|end)(?:\s+and\s+(?:the\s+)?end)?))?"
            r"(?:\s+(?:over|of|for|lasting)\s+(?P<d>{T}))?"
        ),
        build_fades,
    ),
    Rule(
        "loudnorm",
        rx(
            r"\b(?:normali[sz]e|level|balance|even\s+out|fix)\s+(?:the\s+)?(?:audio|sound|volume|loudness|levels?)"
            r"(?:\s+levels?)?\b|\bloudness\s+normali[sz]ation\b|\bnormali[sz]e\b|\bloudnorm\b"
        ),
        build_loudnorm,
    ),
    Rule(
        "describe",
        rx(
            r"\b(?:show|describe|list|what(?:'s|\s+is)\s+(?:on|in))\s+(?:me\s+)?(?:the\s+|my\s+)?"
            r"(?:timeline|tracks|current\s+edit|project)\b|^\s*status\s*\??\s*$"
        ),
        build_describe,
    ),
    Rule(
        "export",
        rx(
            r"\b(?:export|render|download|save)\b(?:\s+(?:it|this|the\s+(?:video|result|file)))?"
            r"(?:\s+(?:as|to|in|into)\s+(?:an?\s+)?(?:1080p\s+|hd\s+|high[\s-]quality\s+)?mp4)?|"
            r"\bsend\s+me\s+the\s+(?:video|file|result)\b"
        ),
        build_export,
    ),
    Rule(
        "help",
        rx(r"^\s*(?:help|hi|hello|hey|what\s+can\s+you\s+do|what\s+are\s+your\s+capabilities)\b"),
        build_help,
    ),
)
