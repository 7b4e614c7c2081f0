using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ModelDsl.Cli.Commands;

/// <summary><c>modeldsl check &lt;files...&gt;</c>: the generator's diagnostics, printed as the compiler prints them.</summary>
internal static class CheckCommand
{
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Count == 0 || args.Any(a => a.StartsWith('-')))
        {
            stderr.WriteLine("usage: modeldsl check <files or folders...>");
            return ExitCodes.Usage;
        }

        bool failed = false;
        int files = 0, errors = 0, warnings = 0;
        foreach (var path in ModelSource.Expand(args, stderr, () => failed = true))
        {
            files++;
            var result = Compilation.Compile(ModelSource.Read(path));
            foreach (var diagnostic in result.Diagnostics)
            {
                stdout.WriteLine(diagnostic.Format(result.Text));
                if (diagnostic.IsError) errors++;
                else warnings++;
            }
        }

        stdout.WriteLine($"{Plural(files, "file")} checked: {Plural(errors, "error")}, {Plural(warnings, "warning")}");
        return failed || errors > 0 ? ExitCodes.Errors : ExitCodes.Success;
    }

    private static string Plural(int n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";
}
