using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace ModelDsl.Emit
{
    /// <summary>
    /// The identifiers one generated file gives the names that come from the .model file (buffers, symbolic dimensions,
    /// inputs, parameters): the .model's name itself where it is free, otherwise the name with a suffix
    /// (<c>seed</c> → <c>seed_2</c>). Each emitter builds its own scope from the names it writes itself (its locals,
    /// members, the temporaries it numbers, the target language's keywords), so no name in a .model file can collide with
    /// generated code, and no earlier stage needs to know what an emitter writes.
    /// </summary>
    internal sealed class NameScope
    {
        private readonly HashSet<string> _taken;
        private readonly IReadOnlyList<string> _numbered;
        private readonly IReadOnlyList<string> _prefixes;
        private readonly Dictionary<object, string> _given = new Dictionary<object, string>();

        /// <param name="reserved">Names the emitter writes itself.</param>
        /// <param name="numbered">Prefixes of the temporaries it numbers (<c>v</c> for <c>v0</c>, <c>v17</c>, ...).</param>
        /// <param name="prefixes">Prefixes it keeps for its own names (<c>md_</c> for the CUDA prelude's functions).</param>
        public NameScope(IEnumerable<string> reserved, IEnumerable<string>? numbered = null, IEnumerable<string>? prefixes = null)
        {
            _taken = new HashSet<string>(reserved, System.StringComparer.Ordinal);
            _numbered = (numbered ?? Enumerable.Empty<string>()).ToList();
            _prefixes = (prefixes ?? Enumerable.Empty<string>()).ToList();
        }

        /// <summary>
        /// The identifier of <paramref name="key"/> (a plan buffer, a parameter, a symbol, ...), <paramref name="name"/> (a
        /// valid identifier already) where it is free: the same one every time the key is asked for, and different from
        /// every reserved name and every other identifier given out. A name in a reserved prefix's form gets <c>u_</c> in front.
        /// </summary>
        public string Claim(object key, string name)
        {
            if (_given.TryGetValue(key, out var given)) return given;
            if (_prefixes.Any(p => name.StartsWith(p, System.StringComparison.Ordinal))) name = "u_" + name;
            string unique = name;
            for (int i = 2; !IsFree(unique); i++) unique = name + "_" + i.ToString(CultureInfo.InvariantCulture);
            _taken.Add(unique);
            _given[key] = unique;
            return unique;
        }

        /// <summary>Whether <paramref name="name"/> has been given out or is reserved (a temporary's form included).</summary>
        public bool IsFree(string name) =>
            !_taken.Contains(name) && !_prefixes.Any(p => name.StartsWith(p, System.StringComparison.Ordinal)) && !_numbered.Any(p => IsNumbered(name, p));

        private static bool IsNumbered(string name, string prefix) =>
            name.Length > prefix.Length && name.StartsWith(prefix, System.StringComparison.Ordinal) && name.Skip(prefix.Length).All(c => c >= '0' && c <= '9');
    }
}
