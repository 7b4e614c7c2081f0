namespace ModelDsl.Cli;

internal static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A .model file has an error, or a file could not be read.</summary>
    public const int Errors = 1;
    public const int Usage = 2;
    public const int InternalError = 3;
}
