using System;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace ModelDsl.Generator.Tests.Support;

/// <summary>An in-memory additional file, as MSBuild's AdditionalFiles items reach a generator.</summary>
internal sealed class TestAdditionalText : AdditionalText
{
    private readonly SourceText? _text;
    private readonly Func<SourceText?>? _read;

    public TestAdditionalText(string path, string? text)
    {
        Path = path;
        _text = text is null ? null : SourceText.From(text);
    }

    /// <summary>A file whose read runs <paramref name="read"/> (to simulate a host that fails or returns null).</summary>
    public TestAdditionalText(string path, Func<SourceText?> read)
    {
        Path = path;
        _read = read;
    }

    public override string Path { get; }

    public override SourceText? GetText(CancellationToken cancellationToken = default) => _read is null ? _text : _read();
}
