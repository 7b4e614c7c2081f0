using System;
using System.IO;
using ModelDsl.Cli;
using ModelDsl.Cli.Commands;

// modeldsl: the command-line front end. Exit codes: 0 success, 1 the input has errors (or a file cannot be read or
// written), 2 bad usage (including a bad --bind), 3 an internal error (a bug: reported in one line, never as a stack trace unless MODELDSL_DEBUG=1).
try
{
    return Dispatch(args, Console.Out, Console.Error);
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
{
    // The file system refused (permissions, a folder given for a file, a full disk): the user's to fix, not a bug.
    // .NET's message names the path.
    Console.Error.WriteLine($"modeldsl: error: {ex.Message.ReplaceLineEndings(" ")}");
    return ExitCodes.Errors;
}
catch (Exception ex) when (Environment.GetEnvironmentVariable("MODELDSL_DEBUG") != "1")
{
    Console.Error.WriteLine($"modeldsl: internal error: {ex.GetType().Name}: {ex.Message}");
    return ExitCodes.InternalError;
}

static int Dispatch(string[] args, TextWriter stdout, TextWriter stderr)
{
    if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
    {
        Usage.Print(stdout);
        return args.Length == 0 ? ExitCodes.Usage : ExitCodes.Success;
    }

    if (args[0] is "--version")
    {
        stdout.WriteLine(typeof(Usage).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
        return ExitCodes.Success;
    }

    var rest = args[1..];
    switch (args[0])
    {
        case "check": return CheckCommand.Run(rest, stdout, stderr);
        case "summary": return SummaryCommand.Run(rest, stdout, stderr);
        case "emit": return EmitCommand.Run(rest, stdout, stderr);
        case "export-onnx": return ExportOnnxCommand.Run(rest, stdout, stderr);
        case "import-onnx": return ImportOnnxCommand.Run(rest, stdout, stderr);
        default:
            stderr.WriteLine($"modeldsl: unknown command '{args[0]}'");
            Usage.Print(stderr);
            return ExitCodes.Usage;
    }
}
