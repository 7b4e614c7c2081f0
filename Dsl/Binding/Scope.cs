using System.Collections.Generic;
using System.Linq;
using ModelDsl.Text;

namespace ModelDsl.Binding
{
    internal enum SymbolKind
    {
        Constant,
        BlockParameter,
        Input,
        Label,
        Binding,
        SymbolicDimension,
    }

    /// <summary>A named thing: a config constant, block parameter, input, label, binding or symbolic dimension.</summary>
    internal sealed class Symbol
    {
        public Symbol(string name, SymbolKind kind, Value value, TextSpan span, string? layerPath = null)
        {
            Name = name;
            Kind = kind;
            Value = value;
            Span = span;
            LayerPath = layerPath;
        }

        public string Name { get; }
        public SymbolKind Kind { get; }
        public Value Value { get; }
        public TextSpan Span { get; }

        /// <summary>For a binding: the layer path its parameters live under (for <c>tie=name.weight</c>).</summary>
        public string? LayerPath { get; }

        public bool Used { get; set; }
    }

    /// <summary>Nested name scopes: file (config constants) → model or block instance.</summary>
    internal sealed class Scope
    {
        private readonly Dictionary<string, Symbol> _symbols = new Dictionary<string, Symbol>();
        private readonly List<Symbol> _ordered = new List<Symbol>();

        public Scope(Scope? parent) => Parent = parent;

        public Scope? Parent { get; }

        /// <summary>Names the body defines later (for "used before its definition").</summary>
        public Dictionary<string, TextSpan> Later { get; } = new Dictionary<string, TextSpan>();

        /// <summary>Names used before their definition (already reported; not "never used" as well).</summary>
        public HashSet<string> MentionedEarly { get; } = new HashSet<string>();

        public IEnumerable<Symbol> Declared => _ordered;

        public bool TryDeclare(Symbol symbol, out Symbol existing)
        {
            if (_symbols.TryGetValue(symbol.Name, out existing!)) return false;
            _symbols[symbol.Name] = symbol;
            _ordered.Add(symbol);
            return true;
        }

        public Symbol? Lookup(string name)
        {
            for (var s = this; s is not null; s = s.Parent)
            {
                if (s._symbols.TryGetValue(name, out var symbol)) return symbol;
            }
            return null;
        }

        public IEnumerable<string> AllNames()
        {
            for (var s = this; s is not null; s = s.Parent)
            {
                foreach (var n in s._ordered) yield return n.Name;
            }
        }
    }

    /// <summary>
    /// How much "did you mean" work one file may do, counted in candidate names looked at plus edit-distance cells
    /// computed. Without a cap the work is quadratic: each undefined name is compared with every name in scope, and a
    /// file of 40,000 undefined bindings took minutes. Once the budget is spent, later diagnostics come without a
    /// suggestion (the first hundreds of typos in a file still get one; a typical file never comes near the cap).
    /// </summary>
    internal sealed class SuggestionBudget
    {
        /// <summary>Per file: a few milliseconds of work, about 600 lookups in a scope of 50 eight-letter names.</summary>
        public const long PerFile = 2_000_000;

        public SuggestionBudget(long limit = PerFile) => Limit = limit;

        public long Limit { get; }

        /// <summary>Work done so far (candidates looked at plus distance-table cells); never more than <see cref="Limit"/> + one lookup's cap.</summary>
        public long Spent { get; private set; }

        public bool Exhausted => Spent >= Limit;

        public void Spend(long units) => Spent += units;
    }

    /// <summary>"Did you mean": the closest name within edit distance 2 (1 for short names), within a work budget.</summary>
    internal static class Suggest
    {
        /// <summary>Names longer than this are compared by their first 64 characters.</summary>
        private const int MaxCompared = 64;

        public static string? Closest(string name, IEnumerable<string> candidates, SuggestionBudget budget, int? maxDistance = null)
        {
            if (budget.Exhausted) return null;
            int limit = maxDistance ?? (name.Length <= 3 ? 1 : 2);
            int length = System.Math.Min(name.Length, MaxCompared);
            string? best = null;
            int bestDistance = int.MaxValue;
            var seen = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (var c in candidates)
            {
                // One unit per candidate looked at: enumerating a huge scope is work even when no distance is computed.
                budget.Spend(1);
                if (budget.Exhausted) return best;
                if (c == name || c.Length == 0 || !seen.Add(c)) continue;
                // The distance is at least the difference in length, so most candidates cost no table at all.
                if (System.Math.Abs(System.Math.Min(c.Length, MaxCompared) - length) > limit) continue;
                int d = Distance(name, c, budget);
                if (d <= limit && d < bestDistance)
                {
                    best = c;
                    bestDistance = d;
                }
            }
            return best;
        }

        /// <summary>Levenshtein distance (names cut at 64 characters); each table cell computed is charged to <paramref name="budget"/>.</summary>
        public static int Distance(string a, string b, SuggestionBudget? budget = null)
        {
            if (a.Length > MaxCompared) a = a.Substring(0, MaxCompared);
            if (b.Length > MaxCompared) b = b.Substring(0, MaxCompared);
            budget?.Spend((long)a.Length * b.Length);
            var prev = new int[b.Length + 1];
            var cur = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++) prev[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                cur[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    cur[j] = System.Math.Min(System.Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                }
                var t = prev; prev = cur; cur = t;
            }
            return prev[b.Length];
        }
    }
}
