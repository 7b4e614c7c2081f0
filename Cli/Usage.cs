using System.IO;

namespace ModelDsl.Cli;

internal static class Usage
{
    public static void Print(TextWriter writer)
    {
        writer.WriteLine("usage: modeldsl <command> [arguments]");
        writer.WriteLine();
        writer.WriteLine("commands:");
        writer.WriteLine("  check <files or folders...>    parse and check .model files; prints diagnostics as");
        writer.WriteLine("                                 file(line,col): severity ID: message; exit 1 on any error");
        writer.WriteLine("  summary <file> [--bind B=32]   each layer with its output shape and parameter count, and totals;");
        writer.WriteLine("                                 --bind shows symbolic dimensions at the given sizes");
        writer.WriteLine();
        writer.WriteLine("options: -h, --help    --version");
        writer.WriteLine("docs: docs/language.md (the language), docs/diagnostics.md (every diagnostic ID)");
    }
}
