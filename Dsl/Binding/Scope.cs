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

    /// <summary>"Did you mean": the closest name within edit distance 2 (1 for short names).</summary>
    internal static class Suggest
    {
        public static string? Closest(string name, IEnumerable<string> candidates, int? maxDistance = null)
        {
            int limit = maxDistance ?? (name.Length <= 3 ? 1 : 2);
            string? best = null;
            int bestDistance = int.MaxValue;
            foreach (var c in candidates.Distinct())
            {
                if (c == name || c.Length == 0) continue;
                int d = Distance(name, c);
                if (d <= limit && d < bestDistance)
                {
                    best = c;
                    bestDistance = d;
                }
            }
            return best;
        }

        /// <summary>Levenshtein distance, bounded input (names are short; long ones are cut at 64).</summary>
        public static int Distance(string a, string b)
        {
            if (a.Length > 64) a = a.Substring(0, 64);
            if (b.Length > 64) b = b.Substring(0, 64);
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
