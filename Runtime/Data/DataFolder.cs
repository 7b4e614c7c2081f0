namespace ModelDsl.Runtime.Data;

public enum DataFolderSource
{
    /// <summary>The path the caller gave.</summary>
    Explicit,

    /// <summary>A system-wide installation, e.g. Debian's dataset-fashion-mnist package.</summary>
    System,

    /// <summary>The small sample shipped in the repository.</summary>
    Sample,
}

/// <summary>A data folder and why it was chosen; <see cref="ToString"/> is the line to log.</summary>
public sealed record DataFolder(string Path, DataFolderSource Source)
{
    public override string ToString() => Source switch
    {
        DataFolderSource.Explicit => $"{Path} (given explicitly)",
        DataFolderSource.System => $"{Path} (system installation)",
        _ => $"{Path} (small sample shipped in the repository)",
    };
}
