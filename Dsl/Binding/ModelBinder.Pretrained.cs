using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using ModelDsl.IR;
using ModelDsl.Syntax;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    // pretrained "file" { target <- source ... }: where the parameters come from (docs/pretrained.md).
    internal sealed partial class ModelBinder
    {
        private static readonly Regex CaptureSyntax = new Regex(@"\{([^{}]*)\}", RegexOptions.CultureInvariant);

        /// <summary>
        /// Resolves the map against the model's parameters: each entry's target pattern (<c>{i}</c> captures one
        /// dot-free part of a name) names parameters, its source gets the captured parts. A parameter matched by two
        /// entries is MDL0216; a bad source MDL0217; a source that cannot have the parameter's rank MDL0321; a target
        /// matching nothing MDL0122 (once the body is clean). Parameters no entry names read their own name.
        /// </summary>
        private PretrainedInfo? BindPretrained(PretrainedSyntax s, bool parametersComplete)
        {
            var sources = new Dictionary<ParameterInfo, (MapSource Source, TextSpan Span)>();
            bool ok = true;
            foreach (var entry in s.Entries)
            {
                if (entry?.Target is null || entry.Source is null) continue;
                var target = TargetRegex(entry.Target, out var captures);
                if (target is null || !CheckSource(entry.Source, captures))
                {
                    ok = false;
                    continue;
                }
                var matches = _parameters.Select(p => (Parameter: p, Match: target.Match(p.Name))).Where(m => m.Match.Success).ToList();
                if (matches.Count == 0)
                {
                    if (parametersComplete)
                    {
                        var names = _parameters.Select(p => p.Name).ToList();
                        string? suggestion = captures.Count == 0 ? Suggest.Closest(entry.Target.Text, names, _file.Suggestions) : null;
                        Diagnostics.ReportPatternMatchesNothing(entry.Target.Span, "pretrained", entry.Target.Text, _model!.Name.Text, suggestion, names);
                    }
                    ok = false;
                    continue;
                }
                foreach (var (p, match) in matches)
                {
                    if (sources.TryGetValue(p, out var first))
                    {
                        Diagnostics.ReportParameterMappedTwice(entry.Target.Span, p.Name, _file.Line(first.Span));
                        ok = false;
                        break;
                    }
                    var source = Resolve(entry.Source, match);
                    if (!CheckRank(entry.Source, source, p, p.Shape.Rank))
                    {
                        ok = false;
                        break;
                    }
                    sources[p] = (source, entry.Span);
                }
            }
            if (!ok)
            {
                _failed = true;
                return null;
            }
            var entries = _parameters.Select(p => sources.TryGetValue(p, out var m)
                ? new PretrainedEntry(p, m.Source, m.Span)
                : new PretrainedEntry(p, new MapTensor(p.Name), null)).ToList();
            return new PretrainedInfo(s.File?.Value, entries, s.Span);
        }

        /// <summary><c>h.{i}.weight</c> as an anchored regex with named groups, or null after MDL0217 (a malformed capture).</summary>
        private Regex? TargetRegex(NamePattern target, out HashSet<string> captures)
        {
            captures = new HashSet<string>(System.StringComparer.Ordinal);
            var pattern = new StringBuilder("^");
            int at = 0;
            bool ok = true;
            foreach (Match m in CaptureSyntax.Matches(target.Text))
            {
                string literal = target.Text.Substring(at, m.Index - at);
                string name = m.Groups[1].Value;
                ok &= literal.IndexOfAny(Braces) < 0 && IsCaptureName(name) && captures.Add(name);
                pattern.Append(Regex.Escape(literal)).Append("(?<").Append(name).Append(">[^.]+)");
                at = m.Index + m.Length;
            }
            string rest = target.Text.Substring(at);
            ok &= rest.IndexOfAny(Braces) < 0;
            if (!ok)
            {
                Diagnostics.ReportInvalidMapSource(target.Span, $"'{target.Text}': a capture is a name in braces, used once per target, like {{i}}");
                return null;
            }
            pattern.Append(Regex.Escape(rest)).Append('$');
            return new Regex(pattern.ToString(), RegexOptions.CultureInvariant);
        }

        private static readonly char[] Braces = { '{', '}' };

        private static bool IsCaptureName(string name) =>
            name.Length > 0 && Lexical.IsWordStart(name[0]) && name.All(Lexical.IsWordPart);

        /// <summary>Functions and their arguments, and that every capture a name uses is one the target has (MDL0217).</summary>
        private bool CheckSource(MapSourceSyntax source, HashSet<string> captures)
        {
            switch (source)
            {
                case MapTensorSyntax t:
                    foreach (Match m in CaptureSyntax.Matches(t.Name.Text))
                    {
                        if (!captures.Contains(m.Groups[1].Value))
                        {
                            string have = captures.Count == 0 ? "the target has none" : "the target has " + string.Join(", ", captures.Select(c => "{" + c + "}"));
                            Diagnostics.ReportInvalidMapSource(t.Span, $"'{t.Name.Text}' uses {m.Value}, which its target does not capture ({have})");
                            return false;
                        }
                    }
                    if (CaptureSyntax.Replace(t.Name.Text, "").IndexOfAny(Braces) >= 0)
                    {
                        Diagnostics.ReportInvalidMapSource(t.Span, $"'{t.Name.Text}': unbalanced braces");
                        return false;
                    }
                    return true;
                case MapCallSyntax c:
                    string f = c.Function.Text;
                    if (f != "transpose" && f != "concat")
                    {
                        Diagnostics.ReportInvalidMapSource(c.Function.Span, $"'{f}' is not a map function; use transpose(a) or concat(a, b, ..., axis=0)");
                        return false;
                    }
                    if (f == "transpose" && (c.Arguments.Count != 1 || c.Axis is not null))
                    {
                        Diagnostics.ReportInvalidMapSource(c.Span, "transpose takes one source and no axis: transpose(a)");
                        return false;
                    }
                    if (f == "concat" && c.Arguments.Count < 2)
                    {
                        Diagnostics.ReportInvalidMapSource(c.Span, "concat takes two or more sources: concat(a, b, ..., axis=0)");
                        return false;
                    }
                    if (c.Axis is { } axis && (!axis.IsInteger || axis.Value < 0))
                    {
                        Diagnostics.ReportInvalidMapSource(axis.Span, $"concat's axis is a non-negative integer, not {axis.Text}");
                        return false;
                    }
                    bool ok = true;
                    foreach (var a in c.Arguments) ok &= CheckSource(a, captures);
                    return ok;
                default:
                    return false;
            }
        }

        /// <summary>The source with the target's captured parts filled in.</summary>
        private static MapSource Resolve(MapSourceSyntax source, Match target) => source switch
        {
            MapTensorSyntax t => new MapTensor(CaptureSyntax.Replace(t.Name.Text, m => target.Groups[m.Groups[1].Value].Value)),
            MapCallSyntax { Function.Text: "transpose" } c => new MapTranspose(Resolve(c.Arguments[0], target)),
            MapCallSyntax c => new MapConcat(c.Axis is { } a ? (int)a.Value : 0, c.Arguments.Select(x => Resolve(x, target)).ToList()),
            _ => new MapTensor(""),
        };

        /// <summary>transpose makes a rank-2 tensor and concat keeps its parts' rank, so both must fit the parameter's (MDL0321).</summary>
        private bool CheckRank(MapSourceSyntax syntax, MapSource source, ParameterInfo p, int rank)
        {
            switch (source)
            {
                case MapTranspose t when syntax is MapCallSyntax c:
                    if (rank != 2)
                    {
                        Diagnostics.ReportMapRankMismatch(c.Span, "transpose", p.Name, p.Shape.ToExpression(), "makes a 2-D tensor");
                        return false;
                    }
                    return CheckRank(c.Arguments[0], t.Source, p, 2);
                case MapConcat k when syntax is MapCallSyntax c:
                    if (k.Axis >= rank)
                    {
                        Diagnostics.ReportMapRankMismatch(c.Axis?.Span ?? c.Span, $"concat along axis {k.Axis.ToString(CultureInfo.InvariantCulture)}",
                            p.Name, p.Shape.ToExpression(), $"needs a tensor of rank {(k.Axis + 1).ToString(CultureInfo.InvariantCulture)} or more");
                        return false;
                    }
                    for (int i = 0; i < k.Sources.Count; i++)
                    {
                        if (!CheckRank(c.Arguments[i], k.Sources[i], p, rank)) return false;
                    }
                    return true;
                default:
                    return true;
            }
        }
    }
}
