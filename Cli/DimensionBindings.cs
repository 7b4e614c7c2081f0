using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Cli;

/// <summary>
/// <c>--bind B=32,T=64</c>: sizes for a model's symbolic dimensions. Each problem is one line naming the entry:
/// a malformed entry, a size outside 1..2,147,483,647 (what the generated code's <c>int</c> dimensions hold), a name
/// given twice, or a name that no model in the file declares (with the dimensions it does declare).
/// </summary>
internal static class DimensionBindings
{
    /// <summary>Parses <paramref name="text"/> into <paramref name="bindings"/>; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string text, Dictionary<string, long> bindings, out string error)
    {
        foreach (var part in text.Split(','))
        {
            var pieces = part.Split('=');
            string name = pieces[0].Trim();
            if (pieces.Length != 2 || name.Length == 0 || !IsIdentifier(name))
            {
                error = $"--bind: '{part}' is not of the form NAME=SIZE (for example --bind B=32,T=64)";
                return false;
            }
            string number = pieces[1].Trim();
            if (!long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) || value < 1 || value > int.MaxValue)
            {
                error = $"--bind: {name}={number} is not a size; a dimension must be an integer from 1 to {int.MaxValue.ToString("N0", CultureInfo.InvariantCulture)}";
                return false;
            }
            if (bindings.ContainsKey(name))
            {
                error = $"--bind: {name} is given more than once";
                return false;
            }
            bindings[name] = value;
        }
        error = "";
        return true;
    }

    /// <summary>Every bound name must be a symbolic dimension of some model in the file: a typo must not pass silently.</summary>
    public static bool TryValidate(IReadOnlyDictionary<string, long> bindings, IReadOnlyList<ModelGraph> models, string path, out string error)
    {
        var declared = models.SelectMany(m => m.SymbolicDimensions).Distinct().ToList();
        foreach (var name in bindings.Keys.OrderBy(n => n, System.StringComparer.Ordinal))
        {
            if (declared.Contains(name)) continue;
            string which = models.Count == 1 ? $"model {models[0].Name}" : $"no model in {path}";
            string has = declared.Count == 0
                ? "it has no symbolic dimensions (every size is a constant)"
                : $"its symbolic dimensions are: {string.Join(", ", declared)}";
            error = models.Count == 1
                ? $"--bind {name}={bindings[name]}: {which} has no dimension '{name}'; {has}"
                : $"--bind {name}={bindings[name]}: {which} has a dimension '{name}'; {(declared.Count == 0 ? "they have no symbolic dimensions" : "their symbolic dimensions are: " + string.Join(", ", declared))}";
            return false;
        }
        error = "";
        return true;
    }

    private static bool IsIdentifier(string name) =>
        (char.IsLetter(name[0]) || name[0] == '_') && name.All(c => char.IsLetterOrDigit(c) || c == '_');
}
