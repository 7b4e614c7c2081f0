using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace ModelDsl.Cuda;

/// <summary>One parameter of a kernel: its C type, normalised (<c>const float*</c>, <c>int</c>, <c>unsigned int</c>), and its name.</summary>
/// <remarks><c>__restrict__</c> is dropped (it promises no aliasing; it does not change what the launcher passes).</remarks>
public readonly record struct KernelParameter(string Type, string Name)
{
    /// <summary>A device pointer (the launcher passes a <see cref="DevicePointer"/>).</summary>
    public bool IsPointer => Type.EndsWith("*", StringComparison.Ordinal);

    /// <summary>A pointer the kernel only reads (<c>const T*</c>).</summary>
    public bool IsReadOnly => IsPointer && Type.StartsWith("const ", StringComparison.Ordinal);

    public override string ToString() => Type + " " + Name;
}

/// <summary>
/// The signature of one <c>extern "C" __global__ void</c> kernel, read from CUDA C source by a small parser: its name and
/// parameters in declaration order. The layer launchers (<c>ModelDsl.Cuda.Layers</c>) check every launch against it
/// (names, count, types), and the tests hold the generated launches to it.
/// </summary>
/// <remarks>
/// The parser understands exactly what the library and the CUDA emitter write: <c>extern "C" __global__ void</c>, an
/// optional <c>__launch_bounds__(…)</c>, the name, then parameters of the form <c>[const] type[*] [__restrict__] name</c>
/// (type words: identifiers; at most one <c>*</c>). Comments are skipped. Anything else declared <c>__global__</c>, a C++
/// (name-mangled) kernel, an array or default argument, is refused with the line it is on, so a kernel that could not be
/// launched by name or checked never passes unnoticed.
/// </remarks>
public sealed class KernelSignature
{
    private static readonly Regex Declaration = new(
        @"\bextern\s+""C""\s+__global__\s+void\s+(?:__launch_bounds__\s*\([^()]*\)\s+)?(?<name>[A-Za-z_]\w*)\s*\((?<parameters>[^()]*)\)",
        RegexOptions.CultureInvariant);

    private static readonly Regex Global = new(@"\b__global__\b", RegexOptions.CultureInvariant);

    private static readonly Regex Token = new(@"[A-Za-z_]\w*|\*|\S", RegexOptions.CultureInvariant);

    public KernelSignature(string name, IReadOnlyList<KernelParameter> parameters)
    {
        Name = name;
        Parameters = parameters;
    }

    /// <summary>The <c>extern "C"</c> name, as <see cref="GpuModule.GetKernel"/> takes it.</summary>
    public string Name { get; }

    public IReadOnlyList<KernelParameter> Parameters { get; }

    /// <summary>The index of parameter <paramref name="name"/>, or −1.</summary>
    public int IndexOf(string name)
    {
        for (int i = 0; i < Parameters.Count; i++)
        {
            if (Parameters[i].Name == name) return i;
        }
        return -1;
    }

    public override string ToString() => $"{Name}({string.Join(", ", Parameters)})";

    /// <summary>
    /// Every kernel declared in <paramref name="source"/>, in source order. Throws <see cref="FormatException"/> naming
    /// <paramref name="fileName"/> and the line when a <c>__global__</c> function is not one the parser understands, or a
    /// name is declared twice.
    /// </summary>
    public static IReadOnlyList<KernelSignature> ParseAll(string source, string fileName = "source")
    {
        ArgumentNullException.ThrowIfNull(source);
        string code = WithoutComments(source);
        var kernels = new List<KernelSignature>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        int parsedUpTo = 0;
        foreach (Match global in Global.Matches(code))
        {
            if (global.Index < parsedUpTo) continue; // inside the declaration just parsed
            // The declaration starts at its `extern "C"`, which precedes __global__ on the same line.
            int lineStart = code.LastIndexOf('\n', global.Index) + 1;
            Match m = Declaration.Match(code, lineStart);
            if (!m.Success || m.Index > global.Index || m.Index + m.Length <= global.Index)
                throw Error(fileName, code, global.Index, "a __global__ function that is not `extern \"C\" __global__ void [__launch_bounds__(…)] name(parameters)`");
            string name = m.Groups["name"].Value;
            if (!names.Add(name)) throw Error(fileName, code, m.Groups["name"].Index, $"kernel {name} is declared twice");
            kernels.Add(new KernelSignature(name, ParseParameters(m.Groups["parameters"].Value, name, fileName, code, m.Groups["parameters"].Index)));
            parsedUpTo = m.Index + m.Length;
        }
        return kernels;
    }

    /// <summary>One declaration, <c>extern "C" __global__ void name(…)</c> (a body may follow).</summary>
    public static KernelSignature Parse(string declaration)
    {
        var all = ParseAll(declaration);
        if (all.Count != 1) throw new FormatException($"expected one kernel declaration, found {all.Count}: {declaration}");
        return all[0];
    }

    private static List<KernelParameter> ParseParameters(string list, string kernel, string fileName, string code, int at)
    {
        var parameters = new List<KernelParameter>();
        string trimmed = list.Trim();
        if (trimmed.Length == 0 || trimmed == "void") return parameters;
        int offset = 0;
        foreach (string text in list.Split(','))
        {
            var words = new List<string>();
            bool pointer = false;
            foreach (Match token in Token.Matches(text))
            {
                string t = token.Value;
                if (t == "*")
                {
                    if (pointer || words.Count == 0) throw Error(fileName, code, at + offset, $"{kernel}: parameter '{text.Trim()}' is not `[const] type[*] name`");
                    pointer = true;
                    continue;
                }
                if (!char.IsLetter(t[0]) && t[0] != '_') throw Error(fileName, code, at + offset, $"{kernel}: parameter '{text.Trim()}' is not `[const] type[*] name`");
                if (t == "__restrict__") continue;
                words.Add(t);
            }
            if (words.Count < 2 || (words.Count == 2 && words[0] == "const"))
                throw Error(fileName, code, at + offset, $"{kernel}: parameter '{text.Trim()}' has no type or no name");
            string name = words[words.Count - 1];
            words.RemoveAt(words.Count - 1);
            var type = new StringBuilder(string.Join(" ", words));
            if (pointer) type.Append('*');
            parameters.Add(new KernelParameter(type.ToString(), name));
            offset += text.Length + 1;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in parameters)
        {
            if (!seen.Add(p.Name)) throw Error(fileName, code, at, $"{kernel}: two parameters are named {p.Name}");
        }
        return parameters;
    }

    /// <summary>The source with // and /* */ comments blanked (line breaks kept, so positions and line numbers stay).</summary>
    private static string WithoutComments(string source)
    {
        var text = new StringBuilder(source);
        for (int i = 0; i < text.Length - 1; i++)
        {
            if (text[i] == '"')
            {
                // A string literal (only `extern "C"` in practice): skip it whole.
                int end = i + 1;
                while (end < text.Length && text[end] != '"' && text[end] != '\n') end += text[end] == '\\' ? 2 : 1;
                i = end;
                continue;
            }
            if (text[i] == '/' && text[i + 1] == '/')
            {
                while (i < text.Length && text[i] != '\n') text[i++] = ' ';
            }
            else if (text[i] == '/' && text[i + 1] == '*')
            {
                while (i < text.Length && !(text[i] == '*' && i + 1 < text.Length && text[i + 1] == '/'))
                {
                    if (text[i] != '\n') text[i] = ' ';
                    i++;
                }
                if (i < text.Length) text[i] = ' ';
                if (i + 1 < text.Length) text[i + 1] = ' ';
            }
        }
        return text.ToString();
    }

    private static FormatException Error(string fileName, string code, int index, string message)
    {
        int line = 1;
        for (int i = 0; i < index && i < code.Length; i++)
        {
            if (code[i] == '\n') line++;
        }
        return new FormatException($"{fileName}:{line}: {message}");
    }
}
