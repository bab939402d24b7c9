"""Top frames of a py-spy raw (collapsed-stack) profile, as text.

  python bench/top_frames.py prof.txt [--focus SUBSTR] [-n 25]

Prints, per thread, total samples, then the frames with the most *self*
samples and the most *inclusive* samples.  --focus keeps only stacks that
contain SUBSTR (e.g. the timed call) -- on other threads too, since worker
threads do not have the caller's frames; use --focus '' to keep all.
"""

import argparse
import collections
import re


def frame_name(f: str) -> str:
  # py-spy: "function (file.py:line)"; drop the line to merge a function.
  m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", f)
  if m:
    fn, path = m.groups()
    return f"{fn} ({path.rsplit('/', 1)[-1]})"
  return f


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("profile")
  ap.add_argument("--focus", default="")
  ap.add_argument("-n", type=int, default=25)
  args = ap.parse_args()
  by_thread = collections.defaultdict(list)
  for line in open(args.profile):
    line = line.rstrip("\n")
    if not line:
      continue
    stack, _, count = line.rpartition(" ")
    frames = stack.split(";")
    thread = frames[0] if frames and frames[0].startswith(("thread", "process")) else "?"
    by_thread[thread].append((frames, int(count)))
  grand = sum(c for st in by_thread.values() for _, c in st)
  print(f"{grand} samples in {len(by_thread)} thread(s)")
  for thread, stacks in sorted(by_thread.items(),
                               key=lambda kv: -sum(c for _, c in kv[1])):
    total = sum(c for _, c in stacks)
    if args.focus and thread.startswith("thread") and any(
        args.focus in f for fr, _ in stacks for f in fr):
      stacks = [(fr, c) for fr, c in stacks if any(args.focus in f for f in fr)]
    n = sum(c for _, c in stacks)
    if n < 0.02 * grand:
      continue
    selfc = collections.Counter()
    incl = collections.Counter()
    for frames, c in stacks:
      names = [frame_name(f) for f in frames[1:]]
      if names:
        selfc[names[-1]] += c
      for nm in set(names):
        incl[nm] += c
    print(f"\n== {thread}: {total} samples ({n} kept)")
    print("  self:")
    for nm, c in selfc.most_common(args.n):
      print(f"    {100 * c / n:5.1f}%  {nm}")
    print("  inclusive:")
    for nm, c in incl.most_common(args.n):
      print(f"    {100 * c / n:5.1f}%  {nm}")


if __name__ == "__main__":
  main()
