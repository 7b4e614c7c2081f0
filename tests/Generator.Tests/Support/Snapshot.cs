using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;

namespace ModelDsl.Generator.Tests.Support;

/// <summary>
/// Baseline ("snapshot") checks shaped like Verify.Xunit's <c>Verify(text)</c>, so the real package could replace it:
/// the text is compared with <c>Snapshots/{name}.verified.cs</c> next to the test sources; on a mismatch
/// <c>{name}.received.cs</c> is written beside it and the test fails with a line diff. Set
/// <c>MODELDSL_ACCEPT_SNAPSHOTS=1</c> to accept the received text as the new baseline.
/// </summary>
internal static class Snapshot
{
    public const string AcceptVariable = "MODELDSL_ACCEPT_SNAPSHOTS";

    public static string Directory => RepoPaths.Combine("tests", "Generator.Tests", "Snapshots");

    public static void Verify(string text, string name, string extension = "cs")
    {
        string received = Normalize(text);
        string verifiedPath = Path.Combine(Directory, $"{name}.verified.{extension}");
        string receivedPath = Path.Combine(Directory, $"{name}.received.{extension}");
        string? verified = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;

        if (verified == received)
        {
            File.Delete(receivedPath);
            return;
        }

        if (Environment.GetEnvironmentVariable(AcceptVariable) == "1")
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllText(verifiedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Delete(receivedPath);
            return;
        }

        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllText(receivedPath, received, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        string message = verified is null
            ? $"No baseline {verifiedPath}. Wrote {receivedPath}; review it and rename it to .verified.{extension} (or rerun with {AcceptVariable}=1)."
            : $"Generated text differs from {verifiedPath} (wrote {receivedPath}; rerun with {AcceptVariable}=1 to accept):{Environment.NewLine}{Diff(verified, received)}";
        Assert.Fail(message);
    }

    /// <summary>A unified-style line diff: <c>-</c> baseline only, <c>+</c> received only, two lines of context.</summary>
    public static string Diff(string expected, string actual)
    {
        DiffPaneModel model = InlineDiffBuilder.Diff(expected, actual, ignoreWhiteSpace: false);
        var builder = new StringBuilder();
        const int Context = 2;
        int lastPrinted = -1;
        for (int i = 0; i < model.Lines.Count; i++)
        {
            if (model.Lines[i].Type == ChangeType.Unchanged)
            {
                continue;
            }

            int from = Math.Max(Math.Max(0, i - Context), lastPrinted + 1);
            if (lastPrinted >= 0 && from > lastPrinted + 1)
            {
                builder.AppendLine("...");
            }

            for (int j = from; j <= Math.Min(model.Lines.Count - 1, i + Context); j++)
            {
                if (j <= lastPrinted)
                {
                    continue;
                }

                DiffPiece line = model.Lines[j];
                string prefix = line.Type switch
                {
                    ChangeType.Inserted => "+ ",
                    ChangeType.Deleted => "- ",
                    _ => "  ",
                };
                builder.Append(prefix).Append(line.Position is int position ? $"{position,4}: " : "      ").AppendLine(line.Text);
                lastPrinted = j;
            }
        }

        return builder.ToString();
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n");
}
