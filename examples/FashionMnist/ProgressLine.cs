namespace FashionMnistExample;

/// <summary>
/// One status line rewritten in place on a terminal; when output is redirected (CI logs) only the finished lines
/// are written, so logs stay readable.
/// </summary>
internal sealed class ProgressLine
{
    private readonly bool _interactive = !Console.IsOutputRedirected;
    private int _width;

    public void Update(string text)
    {
        if (!_interactive) return;
        Console.Write("\r" + text.PadRight(_width));
        _width = text.Length;
    }

    public void Finish(string text)
    {
        if (_interactive) Console.Write("\r" + new string(' ', _width) + "\r");
        _width = 0;
        Console.WriteLine(text);
    }
}
