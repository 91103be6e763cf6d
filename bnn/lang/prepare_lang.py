"""Kaldi ``utils/prepare_lang.sh`` in Python: a dictionary dir -> a Kaldi ``data/lang`` dir.

Input (``<dict-dir>``, Kaldi's format, see kaldi-asr.org/doc/data_prep.html):

* ``lexicon.txt`` (``word phone1 phone2 ...``) or ``lexiconp.txt`` (``word prob phone1 ...``,
  0 < prob <= 1); when both exist ``lexiconp.txt`` wins, as in Kaldi;
* ``silence_phones.txt`` / ``nonsilence_phones.txt``: one line per base phone (a line may hold
  several phones, e.g. stress variants; they form one entry of ``phones/sets.txt``);
* ``optional_silence.txt``: one silence phone, used as optional silence in ``L.fst``;
* ``extra_questions.txt`` (optional, may be empty).

Output (``<lang-dir>``), written exactly as Kaldi's scripts write it (egs/wsj/s5/utils/
prepare_lang.sh, add_lex_disambig.pl, lang/make_lexicon_fst.py, gen_topo.pl):

* ``phones.txt``: ``<eps> 0``, silence phones, non-silence phones, then ``#0 .. #N`` where
  ``N`` = (number of lexicon disambiguation symbols) + 1 (the extra one, ``#N``, marks optional
  silence in ``L_disambig.fst``);
* ``words.txt``: ``<eps> 0``, the words sorted bytewise (``LC_ALL=C sort -u``), ``#0``, ``<s>``, ``</s>``;
* ``L.fst`` and ``L_disambig.fst``: OpenFst binary vector FSTs (arcs sorted by output label).
  With silence probability p (0 < p < 1): state 0 = start, 1 = loop (final), 2 = "after
  silence"; arcs 0->1 ``<eps>:<eps>`` cost -ln(1-p), 0->2 ``<eps>:<eps>`` cost -ln p, 2->1 ``SIL``
  (in ``L_disambig``: 2->3 ``SIL`` and 3->1 ``#N``); each pronunciation leaves state 1 with the
  word on its first arc (cost -ln(pron-prob)) and its last phone enters 1 (cost -ln(1-p)) or 2
  (cost -ln p). With p = 0 there is one start/loop state. ``L_disambig`` has the homophone /
  prefix symbols ``#1 ..`` at the end of each ambiguous pronunciation (add_lex_disambig.pl) and a
  ``#0:#0`` self-loop at every state with a word output or final weight (fstaddselfloops);
* ``topo``: 3-state left-to-right non-silence HMMs and 5-state silence HMMs (gen_topo.pl);
* ``oov.txt``/``oov.int``; ``phones/{silence,nonsilence,optional_silence,disambig,context_indep}
  .{txt,int,csl}``, ``phones/{sets,extra_questions}.{txt,int}``, ``phones/roots.{txt,int}``,
  ``phones/wdisambig.txt``, ``phones/wdisambig_{phones,words}.int``,
  ``phones/align_lexicon.{txt,int}`` and, with position-dependent phones,
  ``phones/word_boundary.{txt,int}``.

The lang dir is assembled in a temporary sibling directory and renamed into place only when
complete, so a failure never leaves a dir that looks finished.
"""
import logging
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from bnn.utils.errors import BnnError

logger = logging.getLogger(__name__)

POSITION_SUFFIXES = ("_B", "_E", "_I", "_S")
RESERVED_WORDS = ("<eps>", "<s>", "</s>", "#0")


@dataclass
class Dictionary:
    """A validated Kaldi dict dir. ``lexicon`` rows are ``(word, pron_prob, phones)``."""
    silence: List[List[str]]
    nonsilence: List[List[str]]
    optional_silence: str
    lexicon: List[Tuple[str, float, List[str]]]
    extra_questions: List[List[str]] = field(default_factory=list)


def _read_lines(path: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except UnicodeDecodeError as err:
        raise BnnError(f"{path}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise BnnError(f"{path}: cannot read ({err.strerror})") from None


def _phone_name_problem(phone: str) -> Optional[str]:
    """Why ``phone`` cannot be a phone name (Kaldi's validate_dict_dir.pl), or None."""
    if phone.startswith("#"):
        return "starts with '#' (reserved for disambiguation symbols #0, #1, ...)"
    if phone in ("<eps>", "<s>", "</s>"):
        return "is reserved (epsilon / sentence boundary)"
    return None


class _Problems(list):
    """The problems found in a dict dir, one line each (file, line, phone or word)."""

    def add(self, where: str, what: str) -> None:
        self.append(f"{where}: {what}")


def _read_phone_lists(path: str, problems: _Problems) -> List[List[str]]:
    groups = []
    for n, line in enumerate(_read_lines(path), 1):
        phones = line.split()
        if not phones:
            problems.add(f"{path}:{n}", "empty line")
            continue
        for p in phones:
            why = _phone_name_problem(p)
            if why:
                problems.add(f"{path}:{n}", f"phone '{p}' {why}")
        groups.append(phones)
    if not groups:
        problems.add(path, "no phones listed")
    return groups


def validate_dict_dir(dict_dir: str, position_dependent_phones: bool = False):
    """Check ``dict_dir`` as Kaldi's utils/validate_dict_dir.pl does, collecting every problem.

    Checks: the files exist and are UTF-8; phone names (no ``#`` prefix: those are
    disambiguation symbols; no ``<eps>``; no _B/_E/_I/_S suffix with position-dependent phones);
    no phone listed twice; exactly one optional silence phone, itself a silence phone; lexicon
    words not reserved, pronunciation probabilities in (0, 1], no empty pronunciation, every
    phone of a pronunciation listed in silence_phones.txt or nonsilence_phones.txt, no duplicate
    entry; extra_questions.txt phones listed.  Returns ``(Dictionary or None, problems)``, each
    problem one line ``<file>:<line>: <what>`` naming the phone or word."""
    problems = _Problems()
    if not os.path.isdir(dict_dir):
        problems.add(dict_dir, "dictionary directory does not exist")
        return None, problems
    paths = {name: os.path.join(dict_dir, name + ".txt")
             for name in ("silence_phones", "nonsilence_phones", "optional_silence")}
    lexp = os.path.join(dict_dir, "lexiconp.txt")
    lex = os.path.join(dict_dir, "lexicon.txt")
    for path in paths.values():
        if not os.path.isfile(path):
            problems.add(path, "missing (a dict dir needs silence_phones.txt, "
                         "nonsilence_phones.txt, optional_silence.txt and lexicon.txt)")
    if not os.path.isfile(lexp) and not os.path.isfile(lex):
        problems.add(lex, "missing (need lexicon.txt or lexiconp.txt)")
    if problems:
        return None, problems
    silence = _read_phone_lists(paths["silence_phones"], problems)
    nonsilence = _read_phone_lists(paths["nonsilence_phones"], problems)
    seen: Dict[str, str] = {}
    for name, groups in (("silence_phones", silence), ("nonsilence_phones", nonsilence)):
        for group in groups:
            for p in group:
                if p in seen:
                    problems.add(paths[name], f"phone '{p}' is listed twice (also in "
                                 f"{seen[p]}.txt)")
                    continue
                if position_dependent_phones and p.endswith(POSITION_SUFFIXES):
                    problems.add(paths[name], f"phone '{p}' ends in a word-position suffix "
                                 "(_B/_E/_I/_S), which --position-dependent-phones true adds")
                seen[p] = name
    silence_set = {p for g in silence for p in g}

    opt_lines = [ln.split() for ln in _read_lines(paths["optional_silence"]) if ln.strip()]
    optional_silence = ""
    if len(opt_lines) != 1 or len(opt_lines[0]) != 1:
        problems.add(paths["optional_silence"], "must contain exactly one phone")
    else:
        optional_silence = opt_lines[0][0]
        if optional_silence not in silence_set:
            problems.add(paths["optional_silence"], f"phone '{optional_silence}' is not in "
                         "silence_phones.txt")

    if os.path.isfile(lexp):
        lexicon = _read_lexicon(lexp, True, seen, problems)
    else:
        lexicon = _read_lexicon(lex, False, seen, problems)

    extra = []
    eq = os.path.join(dict_dir, "extra_questions.txt")
    if os.path.isfile(eq):
        for n, line in enumerate(_read_lines(eq), 1):
            group = line.split()
            for p in group:
                if p not in seen:
                    problems.add(f"{eq}:{n}", f"phone '{p}' is not in silence_phones.txt or "
                                 "nonsilence_phones.txt")
            if group:
                extra.append(group)
    if problems:
        return None, problems
    return Dictionary(silence, nonsilence, optional_silence, lexicon, extra), problems


def read_dict_dir(dict_dir: str, position_dependent_phones: bool = False) -> Dictionary:
    """Read and validate ``dict_dir`` (:func:`validate_dict_dir`).

    One problem is raised as a one-line :class:`BnnError`; several are logged one line each
    (all at once, so a user fixes them in one go) and the error says how many there were."""
    d, problems = validate_dict_dir(dict_dir, position_dependent_phones)
    if len(problems) == 1:
        raise BnnError(problems[0])
    if problems:
        for p in problems:
            logger.error("%s", p)
        raise BnnError(f"{dict_dir}: {len(problems)} problems in the dictionary dir, one per "
                       f"line above; the first: {problems[0]}")
    return d


def _read_lexicon(path: str, with_probs: bool, phones: Dict[str, str], problems: _Problems):
    rows = []
    seen = set()
    for n, line in enumerate(_read_lines(path), 1):
        where = f"{path}:{n}"
        fields = line.split()
        if not fields:
            problems.add(where, "empty line")
            continue
        word = fields[0]
        if word in RESERVED_WORDS or word.startswith("#"):
            problems.add(where, f"word '{word}' is reserved (<eps>, <s>, </s> and #-symbols "
                         "are added by prepare_lang)")
        prob = 1.0
        rest = fields[1:]
        if with_probs:
            if not rest:
                problems.add(where, f"word '{word}': missing pronunciation probability")
                continue
            try:
                prob = float(rest[0])
            except ValueError:
                problems.add(where, f"word '{word}': pronunciation probability '{rest[0]}' is "
                             "not a number")
                continue
            if not 0.0 < prob <= 1.0:
                problems.add(where, f"word '{word}': pronunciation probability {rest[0]} not in "
                             "(0, 1]")
            rest = rest[1:]
        if not rest:
            problems.add(where, f"word '{word}' has an empty pronunciation")
            continue
        for p in rest:
            if p not in phones:
                why = _phone_name_problem(p)
                problems.add(where, f"phone '{p}' of word '{word}' "
                             + (why if why else "is not in silence_phones.txt or "
                                "nonsilence_phones.txt"))
        key = (word, tuple(rest))
        if key in seen:
            problems.add(where, f"duplicate entry '{word} {' '.join(rest)}'")
        seen.add(key)
        rows.append((word, prob, rest))
    if not rows:
        problems.add(path, "empty lexicon")
    return rows


def add_position_dependency(lexicon):
    """Kaldi's word-position markers: 1-phone prons get ``_S``, others ``_B``, ``_I``..., ``_E``."""
    out = []
    for word, prob, pron in lexicon:
        if len(pron) == 1:
            new = [pron[0] + "_S"]
        else:
            new = [pron[0] + "_B"] + [p + "_I" for p in pron[1:-1]] + [pron[-1] + "_E"]
        out.append((word, prob, new))
    return out


def add_lex_disambig(lexicon) -> Tuple[list, int]:
    """Append ``#1, #2 ...`` to prons that are repeated or are a prefix of another pron.

    Kaldi's utils/add_lex_disambig.pl: the k-th occurrence of an ambiguous phone sequence gets
    ``#k``; returns the new lexicon (pron lists include the symbol) and the largest k used.
    """
    count: Dict[Tuple[str, ...], int] = {}
    prefixes = set()
    for _, _, pron in lexicon:
        count[tuple(pron)] = count.get(tuple(pron), 0) + 1
        for i in range(len(pron)):
            prefixes.add(tuple(pron[:i]))
    out, last, max_disambig = [], {}, 0
    for word, prob, pron in lexicon:
        key = tuple(pron)
        if key not in prefixes and count[key] == 1:
            out.append((word, prob, list(pron)))
            continue
        k = last.get(key, 0) + 1
        last[key] = k
        max_disambig = max(max_disambig, k)
        out.append((word, prob, list(pron) + [f"#{k}"]))
    return out, max_disambig


def lexicon_fst_text(lexicon, sil_prob: float, sil_phone: str,
                     sil_disambig: Optional[str] = None) -> str:
    """The text FST of Kaldi's utils/lang/make_lexicon_fst.py (symbols, tab-separated)."""
    lines = []

    def arc(src, dst, phone, word, cost):
        lines.append(f"{src}\t{dst}\t{phone}\t{word}\t{_fmt_cost(cost)}")

    if sil_prob == 0.0:
        loop = 0
        next_state = 1
        for word, prob, pron in lexicon:
            pron_cost = -math.log(prob)
            cur = loop
            for i in range(len(pron) - 1):
                arc(cur, next_state, pron[i], word if i == 0 else "<eps>",
                    pron_cost if i == 0 else 0.0)
                cur = next_state
                next_state += 1
            i = len(pron) - 1
            arc(cur, loop, pron[i], word if i <= 0 else "<eps>", pron_cost if i <= 0 else 0.0)
        lines.append(f"{loop}\t0")
        return "\n".join(lines) + "\n"

    sil_cost = -math.log(sil_prob)
    no_sil_cost = -math.log(1.0 - sil_prob)
    start, loop, sil_state, next_state = 0, 1, 2, 3
    arc(start, loop, "<eps>", "<eps>", no_sil_cost)
    arc(start, sil_state, "<eps>", "<eps>", sil_cost)
    if sil_disambig is None:
        arc(sil_state, loop, sil_phone, "<eps>", 0.0)
    else:
        arc(sil_state, next_state, sil_phone, "<eps>", 0.0)
        arc(next_state, loop, sil_disambig, "<eps>", 0.0)
        next_state += 1
    for word, prob, pron in lexicon:
        pron_cost = -math.log(prob)
        cur = loop
        for i in range(len(pron) - 1):
            arc(cur, next_state, pron[i], word if i == 0 else "<eps>",
                pron_cost if i == 0 else 0.0)
            cur = next_state
            next_state += 1
        i = len(pron) - 1
        last = pron[i] if i >= 0 else "<eps>"
        w = word if i <= 0 else "<eps>"
        extra = pron_cost if i <= 0 else 0.0
        arc(cur, loop, last, w, no_sil_cost + extra)
        arc(cur, sil_state, last, w, sil_cost + extra)
    lines.append(f"{loop}\t0")
    return "\n".join(lines) + "\n"


def _fmt_cost(cost: float) -> str:
    return "0" if cost == 0.0 else repr(float(cost))


def compile_fst(text: str, phone_ids: Dict[str, int], word_ids: Dict[str, int]):
    """``fstcompile`` of a lexicon text FST (symbols mapped to ids here, no tables kept)."""
    import kaldifst
    out = []
    for line in text.splitlines():
        f = line.split("\t")
        if len(f) >= 4:
            f[2] = str(phone_ids[f[2]])
            f[3] = str(word_ids[f[3]])
        out.append(" ".join(f))
    return kaldifst.compile("\n".join(out) + "\n")


def gen_topo(num_nonsil_states: int, num_sil_states: int, nonsil_phones: Sequence[int],
             sil_phones: Sequence[int]) -> str:
    """Kaldi's utils/gen_topo.pl: the ``topo`` file text.

    Non-silence: ``num_nonsil_states`` left-to-right states, self-loop 0.75 / forward 0.25.
    Silence (``num_sil_states`` > 1): state 0 goes to states 0..n-2, states 1..n-2 to 1..n-1,
    each with probability 1/(n-1); the last state has self-loop 0.75 and exit 0.25.
    """
    out = ["<Topology>", "<TopologyEntry>", "<ForPhones>",
           " ".join(str(p) for p in nonsil_phones), "</ForPhones>"]
    for s in range(num_nonsil_states):
        out.append(f"<State> {s} <PdfClass> {s} <Transition> {s} 0.75 "
                   f"<Transition> {s + 1} 0.25 </State>")
    out += [f"<State> {num_nonsil_states} </State>", "</TopologyEntry>",
            "<TopologyEntry>", "<ForPhones>", " ".join(str(p) for p in sil_phones),
            "</ForPhones>"]
    n = num_sil_states
    if n > 1:
        p = 1.0 / (n - 1)
        ps = _fmt_prob(p)
        out.append("<State> 0 <PdfClass> 0 " + "".join(
            f"<Transition> {t} {ps} " for t in range(n - 1)) + "</State>")
        for s in range(1, n - 1):
            out.append(f"<State> {s} <PdfClass> {s} " + "".join(
                f"<Transition> {t} {ps} " for t in range(1, n)) + "</State>")
        out.append(f"<State> {n - 1} <PdfClass> {n - 1} <Transition> {n - 1} 0.75 "
                   f"<Transition> {n} 0.25 </State>")
        out.append(f"<State> {n} </State>")
    else:
        out.append("<State> 0 <PdfClass> 0 <Transition> 0 0.75 <Transition> 1 0.25 </State>")
        out.append("<State> 1 </State>")
    out += ["</TopologyEntry>", "</Topology>"]
    return "\n".join(out) + "\n"


def _fmt_prob(p: float) -> str:
    # perl prints 1/(n-1) with %.15g; the common cases are exact decimals.
    return "%.15g" % p


def prepare_lang(dict_dir: str, oov_word: str, tmp_dir: str, lang_dir: str,
                 sil_prob: float = 0.5, position_dependent_phones: bool = True,
                 num_sil_states: int = 5, num_nonsil_states: int = 3,
                 share_silence_phones: bool = False) -> None:
    """Build ``lang_dir`` from ``dict_dir`` (see the module docstring for the layout)."""
    import kaldifst
    if not 0.0 <= sil_prob < 1.0:
        raise BnnError(f"--sil-prob {sil_prob}: must satisfy 0 <= sil-prob < 1")
    if num_sil_states < 1 or num_nonsil_states < 1:
        raise BnnError("--num-sil-states and --num-nonsil-states must be >= 1")
    d = read_dict_dir(dict_dir, position_dependent_phones)
    lexicon = d.lexicon
    if position_dependent_phones:
        lexicon = add_position_dependency(lexicon)
        phone_map = {p: [p] + [p + s for s in POSITION_SUFFIXES] for g in d.silence for p in g}
        phone_map.update({p: [p + s for s in POSITION_SUFFIXES] for g in d.nonsilence for p in g})
    else:
        phone_map = {p: [p] for g in d.silence + d.nonsilence for p in g}

    def apply_map(group):
        return [v for p in group for v in phone_map[p]]

    if share_silence_phones:
        sets = [apply_map([p for g in d.silence for p in g])] + [apply_map(g) for g in d.nonsilence]
        roots = [["not-shared", "not-split"] + sets[0]] + [["shared", "split"] + s for s in sets[1:]]
    else:
        sets = [apply_map(g) for g in d.silence + d.nonsilence]
        roots = [["shared", "split"] + s for s in sets]
    silence = [v for g in d.silence for v in apply_map(g)]
    nonsilence = [v for g in d.nonsilence for v in apply_map(g)]
    extra_questions = [apply_map(g) for g in d.extra_questions]
    if position_dependent_phones:
        for s in POSITION_SUFFIXES:
            extra_questions.append([p + s for g in d.nonsilence for p in g])
        for s in ("",) + POSITION_SUFFIXES:
            extra_questions.append([p + s for g in d.silence for p in g])

    lexicon_disambig, ndisambig = add_lex_disambig(lexicon)
    ndisambig += 1  # one more for optional silence in L_disambig.fst
    disambig = [f"#{n}" for n in range(ndisambig + 1)]

    phones = ["<eps>"] + silence + nonsilence + disambig
    phone_ids = {p: i for i, p in enumerate(phones)}
    words = sorted({w for w, _, _ in lexicon})
    word_list = ["<eps>"] + words + ["#0", "<s>", "</s>"]
    word_ids = {w: i for i, w in enumerate(word_list)}
    if oov_word not in word_ids or oov_word in ("<eps>", "#0", "<s>", "</s>"):
        raise BnnError(f"{dict_dir}: OOV word '{oov_word}' is not a word of the lexicon")

    parent = os.path.dirname(os.path.abspath(lang_dir))
    os.makedirs(parent, exist_ok=True)
    os.makedirs(tmp_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="." + os.path.basename(os.path.abspath(lang_dir)) + ".",
                            dir=parent)
    try:
        _write_lang(work, tmp_dir, d, lexicon, lexicon_disambig, ndisambig, phones, phone_ids,
                    word_list, word_ids, silence, nonsilence, sets, roots, extra_questions,
                    position_dependent_phones, sil_prob, oov_word, num_sil_states,
                    num_nonsil_states, kaldifst)
        if os.path.isdir(lang_dir):
            shutil.rmtree(lang_dir)
        os.replace(work, lang_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    logger.info("prepared %s: %d phones (+%d disambig), %d words", lang_dir,
                len(silence) + len(nonsilence), len(disambig), len(words))


def _write_lang(out, tmp_dir, d, lexicon, lexicon_disambig, ndisambig, phones, phone_ids,
                word_list, word_ids, silence, nonsilence, sets, roots, extra_questions,
                position_dependent, sil_prob, oov_word, num_sil_states, num_nonsil_states,
                kaldifst):
    pdir = os.path.join(out, "phones")
    os.makedirs(pdir)

    def write(path, lines):
        with open(os.path.join(out, path), "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))

    def ints(symbols):
        return [str(phone_ids[s]) for s in symbols]

    # tmp dir: what Kaldi leaves there, for inspection
    for name, lex in (("lexiconp.txt", lexicon), ("lexiconp_disambig.txt", lexicon_disambig)):
        with open(os.path.join(tmp_dir, name), "w", encoding="utf-8") as f:
            for w, p, pron in lex:
                f.write(f"{w}\t{p!r}\t{' '.join(pron)}\n")
    with open(os.path.join(tmp_dir, "lex_ndisambig"), "w") as f:
        f.write(f"{ndisambig}\n")

    write("phones.txt", [f"{p} {i}" for i, p in enumerate(phones)])
    write("words.txt", [f"{w} {i}" for i, w in enumerate(word_list)])
    disambig = [p for p in phones if p.startswith("#")]
    lists = {"silence": silence, "nonsilence": nonsilence,
             "optional_silence": [d.optional_silence], "disambig": disambig,
             "context_indep": silence}
    for name, syms in lists.items():
        write(f"phones/{name}.txt", syms)
        write(f"phones/{name}.int", ints(syms))
        write(f"phones/{name}.csl", [":".join(ints(syms))])
    write("phones/sets.txt", [" ".join(s) for s in sets])
    write("phones/sets.int", [" ".join(ints(s)) for s in sets])
    write("phones/roots.txt", [" ".join(r) for r in roots])
    write("phones/roots.int", [" ".join(r[:2] + ints(r[2:])) for r in roots])
    write("phones/extra_questions.txt", [" ".join(q) for q in extra_questions])
    write("phones/extra_questions.int", [" ".join(ints(q)) for q in extra_questions])
    if position_dependent:
        wb = []
        for p in silence + nonsilence:
            kind = {"_I": "internal", "_B": "begin", "_S": "singleton", "_E": "end"}.get(
                p[-2:], "nonword")
            wb.append((p, kind))
        write("phones/word_boundary.txt", [f"{p} {k}" for p, k in wb])
        write("phones/word_boundary.int", [f"{phone_ids[p]} {k}" for p, k in wb])
    write("phones/wdisambig.txt", ["#0"])
    write("phones/wdisambig_phones.int", [str(phone_ids["#0"])])
    write("phones/wdisambig_words.int", [str(word_ids["#0"])])

    align = {f"{w} {w} {' '.join(pron)}" for w, _, pron in lexicon}
    align.add(f"<eps> <eps> {d.optional_silence}")
    align = sorted(align, key=lambda s: s.encode("utf-8"))
    write("phones/align_lexicon.txt", align)
    write("phones/align_lexicon.int", [
        " ".join([str(word_ids[f[0]]), str(word_ids[f[1]])] + ints(f[2:]))
        for f in (a.split() for a in align)])

    write("oov.txt", [oov_word])
    write("oov.int", [str(word_ids[oov_word])])
    nonsil_ids = [phone_ids[p] for p in nonsilence]
    sil_ids = [phone_ids[p] for p in silence]
    with open(os.path.join(out, "topo"), "w") as f:
        f.write(gen_topo(num_nonsil_states, num_sil_states, nonsil_ids, sil_ids))

    sil_phone = d.optional_silence
    lfst = compile_fst(lexicon_fst_text(lexicon, sil_prob, sil_phone), phone_ids, word_ids)
    kaldifst.arcsort(lfst, sort_type="olabel")
    _write_fst(lfst, os.path.join(out, "L.fst"))
    ldis = compile_fst(lexicon_fst_text(lexicon_disambig, sil_prob, sil_phone,
                                        f"#{ndisambig}" if sil_prob > 0 else None),
                       phone_ids, word_ids)
    kaldifst.add_self_loops(ldis, [phone_ids["#0"]], [word_ids["#0"]])
    kaldifst.arcsort(ldis, sort_type="olabel")
    _write_fst(ldis, os.path.join(out, "L_disambig.fst"))


def _write_fst(fst, path):
    if not fst.write(path):
        raise BnnError(f"{path}: failed to write FST")


def read_symbol_table(path: str) -> Dict[str, int]:
    """Read a Kaldi symbol table (``symbol id`` per line)."""
    table = {}
    for n, line in enumerate(_read_lines(path), 1):
        f = line.split()
        if len(f) != 2 or not f[1].lstrip("-").isdigit():
            raise BnnError(f"{path}:{n}: expected '<symbol> <integer-id>'")
        table[f[0]] = int(f[1])
    return table
