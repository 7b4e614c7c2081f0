using System.Collections.Generic;

namespace ModelDsl.Text
{
    /// <summary>
    /// The names C# refuses as an identifier or a type name: its keywords, and the contextual keywords that cannot name
    /// a class or that generated code would have to escape (<c>var</c>, <c>record</c>, <c>file</c>, ...). The C# emitters'
    /// reserved names (<see cref="ModelDsl.Emit.CSharp.CSharpNames"/>) and the verbatim class name of a model named like one.
    /// </summary>
    internal static class CSharpKeywords
    {
        public static readonly IReadOnlyCollection<string> All = new HashSet<string>(System.StringComparer.Ordinal)
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
            "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
            "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
            "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
            "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
            "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
            "using", "virtual", "void", "volatile", "while",
            "var", "dynamic", "record", "file", "required", "scoped", "field", "_", "nint", "nuint", "global", "partial", "yield", "await",
        };

        public static bool Contains(string name) => ((HashSet<string>)All).Contains(name);
    }
}
